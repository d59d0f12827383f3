"use client";
// Create or edit an OAuth app. Secrets are write-only: the field starts blank and blank keeps what is stored.
import { useActionState, useState } from "react";
import { useTranslations } from "next-intl";
import { ErrorText, Field, FormMessage, KeptForm, SubmitButton, type FormState } from "@/app/_components/form";

type ProviderOption = { id: string; name: string; certificates: boolean };
type Existing = {
  id: string;
  providerId: string;
  name: string;
  clientId: string;
  redirectUri: string | null;
  publisherTenantId: string | null;
  clientSecretSet: boolean;
  hasCertificate: boolean;
};

export function OAuthAppForm({
  action: serverAction,
  providers,
  existing,
  org,
}: {
  action: (prev: FormState | undefined, form: FormData) => Promise<FormState>;
  providers: ProviderOption[];
  existing?: Existing;
  org?: string;
}) {
  const t = useTranslations("appForm");
  const tp = useTranslations("providerNames");
  const [state, action, pending] = useActionState(serverAction, undefined);
  const [providerId, setProviderId] = useState(existing?.providerId ?? providers[0]?.id ?? "");
  const [certMode, setCertMode] = useState<"keep" | "upload" | "generate">("keep");
  const certs = providers.find((p) => p.id === providerId)?.certificates ?? false;
  const err = (k: string) => state?.errors?.[k];
  return (
    <KeptForm action={action} pending={pending} state={state} className="space-y-4">
      {org ? <input type="hidden" name="org" value={org} /> : null}
      {existing ? <input type="hidden" name="appId" value={existing.id} /> : null}
      <FormMessage state={state} />
      <div>
        <label htmlFor="f-providerId" className="label">
          {t("provider")}
        </label>
        <select
          id="f-providerId"
          name="providerId"
          className="input"
          value={providerId}
          onChange={(e) => setProviderId(e.target.value)}
          disabled={Boolean(existing)}
        >
          {providers.map((p) => (
            <option key={p.id} value={p.id}>
              {tp.has(p.id) ? tp(p.id) : p.name}
            </option>
          ))}
        </select>
        {existing ? <input type="hidden" name="providerId" value={providerId} /> : null}
      </div>
      <Field name="name" label={t("name")} defaultValue={existing?.name} required maxLength={100} error={err("name")} />
      <Field
        name="clientId"
        label={t("clientId")}
        defaultValue={existing?.clientId}
        required
        autoComplete="off"
        error={err("clientId")}
      />
      <Field
        name="clientSecret"
        label={t("clientSecret")}
        type="password"
        autoComplete="new-password"
        hint={existing?.clientSecretSet ? t("secretKeep") : t("secretHint")}
        placeholder={existing?.clientSecretSet ? "••••••••" : undefined}
        error={err("clientSecret")}
      />
      <Field
        name="redirectUri"
        label={t("redirectOverride")}
        defaultValue={existing?.redirectUri ?? ""}
        hint={t("redirectOverrideHint")}
        placeholder="https://127.0.0.1/"
        error={err("redirectUri")}
      />
      {certs ? (
        <Field
          name="publisherTenantId"
          label={t("publisherTenantId")}
          defaultValue={existing?.publisherTenantId ?? ""}
          hint={t("publisherTenantIdHint")}
          placeholder="00000000-0000-0000-0000-000000000000"
          autoComplete="off"
          error={err("publisherTenantId")}
        />
      ) : null}
      {certs ? (
        <fieldset className="space-y-3 rounded-md border border-zinc-200 p-4 dark:border-zinc-800">
          <legend className="px-1 text-sm font-semibold">{t("certificate")}</legend>
          <p className="text-xs text-zinc-500">{t("certificateHelp")}</p>
          <div className="flex flex-wrap gap-4 text-sm">
            {(["keep", "upload", "generate"] as const).map((m) => (
              <label key={m} className="flex items-center gap-2">
                <input
                  type="radio"
                  name="certMode"
                  value={m}
                  checked={certMode === m}
                  onChange={() => setCertMode(m)}
                />
                {t(existing?.hasCertificate || m !== "keep" ? `cert.${m}` : "cert.none")}
              </label>
            ))}
          </div>
          {certMode === "upload" ? (
            <>
              <div>
                <label htmlFor="f-certificatePem" className="label">
                  {t("certificatePem")}
                </label>
                <textarea
                  id="f-certificatePem"
                  name="certificatePem"
                  rows={5}
                  className="input font-mono text-xs"
                  placeholder="-----BEGIN CERTIFICATE-----"
                />
                <ErrorText error={err("certificatePem")} />
              </div>
              <div>
                <label htmlFor="f-privateKeyPem" className="label">
                  {t("privateKeyPem")}
                </label>
                <textarea
                  id="f-privateKeyPem"
                  name="privateKeyPem"
                  rows={5}
                  className="input font-mono text-xs"
                  placeholder="-----BEGIN PRIVATE KEY-----"
                  autoComplete="off"
                />
                <ErrorText error={err("privateKeyPem")} />
              </div>
            </>
          ) : null}
          {certMode === "generate" ? (
            <>
              <input type="hidden" name="generateCertificate" value="true" />
              <p className="text-xs text-zinc-600 dark:text-zinc-400">{t("generateHelp")}</p>
            </>
          ) : null}
        </fieldset>
      ) : null}
      <SubmitButton pendingLabel={t("saving")}>{existing ? t("save") : t("create")}</SubmitButton>
    </KeptForm>
  );
}
