"use client";
import { useActionState, useState } from "react";
import { useTranslations } from "next-intl";
import { ErrorText, FormMessage, KeptForm, SubmitButton } from "@/app/_components/form";
import { CopyButton } from "@/app/_components/copy-button";
import {
  connectNowAction,
  createConsentLinkAction,
  disconnectAction,
  pasteRedirectAction,
  purgeAction,
  updateConnectionAction,
  refreshNowAction,
  revokeConsentLinkAction,
  startActivityAction,
  stopActivityAction,
  testConnectionAction,
} from "../actions";

function Ref({ org, connectionId }: { org: string; connectionId: string }) {
  return (
    <>
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="connectionId" value={connectionId} />
    </>
  );
}

export function ConnectNowButton({ org, connectionId }: { org: string; connectionId: string }) {
  const t = useTranslations("connection");
  return (
    <form action={connectNowAction}>
      <Ref org={org} connectionId={connectionId} />
      <SubmitButton className="btn-primary w-full" pendingLabel={t("redirecting")}>
        {t("connectNow")}
      </SubmitButton>
    </form>
  );
}

const LINK_BOX_TONES = {
  emerald: "border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950",
  amber: "border-amber-300 bg-amber-50 dark:border-amber-800 dark:bg-amber-950",
} as const;

/** A consent link shown once, selectable and with a copy button. */
function ConsentLinkBox({ url, testId, tone }: { url: string; testId: string; tone: keyof typeof LINK_BOX_TONES }) {
  const t = useTranslations("connection");
  return (
    <div className={`rounded-md border p-3 text-xs ${LINK_BOX_TONES[tone]}`}>
      <p className="mb-1">{t("linkHint")}</p>
      <div className="flex items-center gap-2">
        <input
          readOnly
          value={url}
          aria-label={t("consentLink")}
          data-testid={testId}
          className="input font-mono text-xs"
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton value={url} />
      </div>
    </div>
  );
}

export function ConsentLinkPanel({ org, connectionId }: { org: string; connectionId: string }) {
  const t = useTranslations("connection");
  const [state, action] = useActionState(createConsentLinkAction, undefined);
  return (
    <form action={action} className="space-y-2">
      <Ref org={org} connectionId={connectionId} />
      <SubmitButton className="btn-secondary w-full">{t("createLink")}</SubmitButton>
      {state?.data?.url ? (
        <ConsentLinkBox url={state.data.url} testId="consent-link" tone="emerald" />
      ) : (
        <FormMessage state={state?.ok ? undefined : state} />
      )}
    </form>
  );
}

export function RevokeLinkButton({
  org,
  connectionId,
  consentRequestId,
}: {
  org: string;
  connectionId: string;
  consentRequestId: string;
}) {
  const t = useTranslations("connection");
  const [state, action] = useActionState(revokeConsentLinkAction, undefined);
  return (
    <form
      action={action}
      onSubmit={(e) => {
        if (!window.confirm(t("revokeLinkConfirm"))) e.preventDefault();
      }}
    >
      <Ref org={org} connectionId={connectionId} />
      <input type="hidden" name="consentRequestId" value={consentRequestId} />
      <SubmitButton className="btn-danger px-2 py-1 text-xs">{t("revokeLink")}</SubmitButton>
      {state && !state.ok ? (
        <span role="alert" className="text-red-600">
          {state.message}
        </span>
      ) : null}
    </form>
  );
}

export function PasteRedirectForm({ org, connectionId }: { org: string; connectionId: string }) {
  const t = useTranslations("connection");
  const [state, action, pending] = useActionState(pasteRedirectAction, undefined);
  return (
    <KeptForm action={action} pending={pending} state={state} className="space-y-2">
      <Ref org={org} connectionId={connectionId} />
      <FormMessage state={state} />
      <label htmlFor="f-pasted" className="label">
        {t("pasteLabel")}
      </label>
      <textarea
        id="f-pasted"
        name="pasted"
        rows={3}
        className="input font-mono text-xs"
        placeholder="https://127.0.0.1/?code=…&state=…"
        autoComplete="off"
        spellCheck={false}
        aria-invalid={Boolean(state?.errors?.pasted)}
        aria-describedby={state?.errors?.pasted ? "f-pasted-error" : undefined}
      />
      <ErrorText id="f-pasted-error" error={state?.errors?.pasted} />
      <SubmitButton className="btn-primary w-full">{t("pasteSubmit")}</SubmitButton>
    </KeptForm>
  );
}

export function TestConnectionButton({
  org,
  connectionId,
  disabled,
}: {
  org: string;
  connectionId: string;
  disabled: boolean;
}) {
  const t = useTranslations("connection");
  const [state, action] = useActionState(testConnectionAction, undefined);
  const summary = Object.entries(state?.data ?? {}).filter(([k]) => k.startsWith("summary:"));
  return (
    <form action={action} className="space-y-3">
      <Ref org={org} connectionId={connectionId} />
      <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("testBody")}</p>
      <SubmitButton
        className="btn-secondary w-full"
        pendingLabel={t("testing")}
        disabled={disabled}
        describedBy={disabled ? "test-needs-consent" : undefined}
      >
        {t("testButton")}
      </SubmitButton>
      {disabled ? (
        <p id="test-needs-consent" className="text-xs text-zinc-600 dark:text-zinc-400">
          {t("testNeedsConsent")}
        </p>
      ) : null}
      <FormMessage state={state} />
      {summary.length ? (
        <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-xs" data-testid="test-summary">
          {summary.map(([k, v]) => (
            <div key={k} className="contents">
              <dt className="font-mono text-zinc-500">{k.slice(8)}</dt>
              <dd className="break-all">{v}</dd>
            </div>
          ))}
        </dl>
      ) : null}
    </form>
  );
}

export function RefreshNowButton({ org, connectionId }: { org: string; connectionId: string }) {
  const t = useTranslations("connection");
  const [state, action] = useActionState(refreshNowAction, undefined);
  return (
    <form action={action} className="space-y-2">
      <Ref org={org} connectionId={connectionId} />
      <SubmitButton className="btn-secondary w-full" pendingLabel={t("refreshing")}>
        {t("refreshNow")}
      </SubmitButton>
      <FormMessage state={state} />
    </form>
  );
}

export function DisconnectButton({ org, connectionId }: { org: string; connectionId: string }) {
  const t = useTranslations("connection");
  const [state, action] = useActionState(disconnectAction, undefined);
  return (
    <form
      action={action}
      className="space-y-2"
      onSubmit={(e) => {
        if (!window.confirm(t("disconnectConfirm"))) e.preventDefault();
      }}
    >
      <Ref org={org} connectionId={connectionId} />
      <p className="text-xs text-zinc-500">{t("disconnectBody")}</p>
      <SubmitButton className="btn-danger w-full">{t("disconnect")}</SubmitButton>
      <FormMessage state={state} />
    </form>
  );
}

/** Activity feed: the content types not running yet, as checkboxes, and one button to start them. */
export function ActivityStartForm({
  org,
  connectionId,
  contentTypes,
}: {
  org: string;
  connectionId: string;
  contentTypes: string[];
}) {
  const t = useTranslations("connection");
  const [state, action, pending] = useActionState(startActivityAction, undefined);
  return (
    <KeptForm action={action} pending={pending} state={state} className="space-y-2">
      <Ref org={org} connectionId={connectionId} />
      <fieldset className="space-y-1 text-sm">
        <legend className="label">{t("activityChoose")}</legend>
        {contentTypes.map((ct) => (
          <label key={ct} className="flex items-center gap-2">
            <input type="checkbox" name="contentType" value={ct} defaultChecked={ct !== "DLP.All"} />
            <code className="text-xs">{ct}</code>
          </label>
        ))}
      </fieldset>
      <SubmitButton className="btn-primary w-full">{t("activityStart")}</SubmitButton>
      <FormMessage state={state} />
    </KeptForm>
  );
}

export function ActivityStopButton({
  org,
  connectionId,
  contentType,
}: {
  org: string;
  connectionId: string;
  contentType: string;
}) {
  const t = useTranslations("connection");
  const [state, action] = useActionState(stopActivityAction, undefined);
  return (
    <form action={action}>
      <Ref org={org} connectionId={connectionId} />
      <input type="hidden" name="contentType" value={contentType} />
      <SubmitButton className="btn-secondary px-2 py-1 text-xs">{t("activityStop")}</SubmitButton>
      <FormMessage state={state?.ok ? undefined : state} />
    </form>
  );
}

export function PurgeButton({ org, connectionId, name }: { org: string; connectionId: string; name: string }) {
  const t = useTranslations("connection");
  const [state, action] = useActionState(purgeAction, undefined);
  return (
    <form
      action={action}
      className="space-y-2"
      onSubmit={(e) => {
        if (!window.confirm(t("purgeConfirm", { name }))) e.preventDefault();
      }}
    >
      <Ref org={org} connectionId={connectionId} />
      <p className="text-xs text-zinc-600 dark:text-zinc-400">{t("purgeBody")}</p>
      <SubmitButton className="btn-danger w-full" pendingLabel={t("purging")}>
        {t("purge")}
      </SubmitButton>
      <FormMessage state={state} />
    </form>
  );
}

export type EditableSetting = {
  key: string;
  type: string;
  required: boolean;
  options: string[] | null;
  secret: boolean;
  reconsent: boolean;
  /** the stored value as the form shows it ("" for secret settings: they are write-only) */
  value: string;
  /** secret settings: a value is stored */
  isSet: boolean;
};

/**
 * Edit panel. Inputs are controlled, so a refused submit keeps what was typed; the fields marked
 * with ⟳ ask the data owner for consent again when changed.
 */
export function EditConnectionForm({
  org,
  connectionId,
  name,
  scopes,
  metadata,
  settings,
  oauth,
}: {
  org: string;
  connectionId: string;
  name: string;
  scopes: string;
  metadata: string;
  settings: EditableSetting[];
  oauth: boolean;
}) {
  const t = useTranslations("connection");
  const tf = useTranslations("settingsFields");
  const [state, action] = useActionState(updateConnectionAction, undefined);
  const [values, setValues] = useState<Record<string, string>>(() => ({
    name,
    scopes,
    metadata,
    ...Object.fromEntries(settings.map((s) => [`settings.${s.key}`, s.value])),
  }));
  const [removed, setRemoved] = useState<Record<string, boolean>>({});
  /** the error of a field or of anything inside it (`metadata.<key>`, `settings.api_headers.<name>`) */
  const errorOf = (field: string) =>
    Object.entries(state?.errors ?? {}).find(([k]) => k === field || k.startsWith(`${field}.`))?.[1];
  const bind = (field: string) => ({
    id: `edit-${field}`,
    name: field,
    value: values[field] ?? "",
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
      setValues((v) => ({ ...v, [field]: e.target.value })),
    "aria-invalid": Boolean(errorOf(field)),
    "aria-describedby": errorOf(field) ? `edit-${field}-error` : undefined,
  });
  const error = (field: string) =>
    errorOf(field) ? (
      <p id={`edit-${field}-error`} role="alert" className="mt-1 text-xs text-red-600 dark:text-red-400">
        {errorOf(field)}
      </p>
    ) : null;
  const label = (field: string, text: string, reconsent: boolean) => (
    <label htmlFor={`edit-${field}`} className="label">
      {text}
      {reconsent && oauth ? (
        <span className="ml-1 text-xs font-normal text-amber-700 dark:text-amber-300">({t("editReconsentMark")})</span>
      ) : null}
    </label>
  );
  return (
    <form action={action} className="space-y-4" data-testid="edit-connection">
      <Ref org={org} connectionId={connectionId} />
      {oauth ? <p className="text-xs text-zinc-600 dark:text-zinc-400">{t("editReconsentHint")}</p> : null}
      <div>
        {label("name", t("editName"), false)}
        <input className="input" maxLength={100} required {...bind("name")} />
        {error("name")}
      </div>
      {settings.map((s) => {
        const field = `settings.${s.key}`;
        return (
          <div key={s.key}>
            {label(field, tf.has(`${s.key}.label`) ? tf(`${s.key}.label`) : s.key, s.reconsent)}
            {s.type === "enum" ? (
              <select className="input" {...bind(field)}>
                {(s.options ?? []).map((o) => (
                  <option key={o} value={o}>
                    {/* option keys have no dots (next-intl nesting): com.au → com_au, as in the wizard */}
                    {tf.has(`${s.key}.options.${o.replace(/\./g, "_")}`)
                      ? tf(`${s.key}.options.${o.replace(/\./g, "_")}`)
                      : o}
                  </option>
                ))}
              </select>
            ) : s.type === "boolean" ? (
              <input
                type="checkbox"
                id={`edit-${field}`}
                name={field}
                checked={values[field] === "true"}
                onChange={(e) => setValues((v) => ({ ...v, [field]: e.target.checked ? "true" : "false" }))}
              />
            ) : s.type === "key_values" ? (
              <textarea
                rows={3}
                className="input font-mono text-xs"
                spellCheck={false}
                autoComplete="off"
                placeholder={s.secret && s.isSet ? t("editSecretKeep") : "name=value"}
                {...bind(field)}
              />
            ) : (
              <input
                className="input"
                type={s.secret ? "password" : "text"}
                autoComplete="off"
                placeholder={s.secret && s.isSet ? t("editSecretKeep") : undefined}
                {...bind(field)}
              />
            )}
            {s.secret ? (
              <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
                {s.isSet ? t("editSecretSet") : t("editSecretUnset")}
                {s.isSet ? (
                  <label className="ml-2 inline-flex items-center gap-1">
                    <input
                      type="checkbox"
                      name={`${field}.remove`}
                      checked={removed[field] ?? false}
                      onChange={(e) => setRemoved((r) => ({ ...r, [field]: e.target.checked }))}
                    />
                    {t("editSecretRemove")}
                  </label>
                ) : null}
              </p>
            ) : null}
            {error(field)}
          </div>
        );
      })}
      {oauth ? (
        <div>
          {label("scopes", t("editScopes"), true)}
          <input className="input font-mono text-xs" spellCheck={false} {...bind("scopes")} />
          <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">{t("editScopesHint")}</p>
          {error("scopes")}
        </div>
      ) : null}
      <div>
        {label("metadata", t("editMetadata"), false)}
        <textarea
          rows={3}
          className="input font-mono text-xs"
          spellCheck={false}
          placeholder="customer_id=c-42"
          {...bind("metadata")}
        />
        <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">{t("editMetadataHint")}</p>
        {error("metadata")}
      </div>
      <SubmitButton className="btn-primary w-full" pendingLabel={t("editSaving")}>
        {t("editSave")}
      </SubmitButton>
      <FormMessage state={state} />
      {state?.data?.url ? <ConsentLinkBox url={state.data.url} testId="reconsent-link" tone="amber" /> : null}
    </form>
  );
}
