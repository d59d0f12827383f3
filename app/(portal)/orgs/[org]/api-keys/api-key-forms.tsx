"use client";
import { useActionState } from "react";
import { useTranslations } from "next-intl";
import { ErrorText, Field, FormMessage, KeptForm, SubmitButton } from "@/app/_components/form";
import { CopyButton } from "@/app/_components/copy-button";
import { createApiKeyAction, revokeApiKeyAction } from "./actions";

export function CreateApiKeyForm({ org, scopes }: { org: string; scopes: readonly string[] }) {
  const t = useTranslations("apiKeys");
  const [state, action, pending] = useActionState(createApiKeyAction, undefined);
  return (
    <KeptForm action={action} pending={pending} state={state} resetOnSuccess className="space-y-4">
      <input type="hidden" name="org" value={org} />
      <FormMessage state={state} />
      {state?.data?.key ? (
        <div className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950">
          <p>{t("shownOnce")}</p>
          <div className="mt-1 flex items-center gap-2">
            <code className="select-all break-all font-mono text-xs" data-testid="api-key">
              {state.data.key}
            </code>
            <CopyButton value={state.data.key} />
          </div>
        </div>
      ) : null}
      <Field
        name="name"
        label={t("name")}
        required
        maxLength={100}
        placeholder={t("namePlaceholder")}
        error={state?.errors?.name}
      />
      <fieldset aria-describedby={state?.errors?.scopes ? "f-scopes-error" : undefined}>
        <legend className="label">{t("scopes")}</legend>
        {scopes.map((s) => (
          <label key={s} className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              name="scopes"
              value={s}
              defaultChecked={s === "connections:read" || s === "tokens:read"}
            />
            <code className="text-xs">{s}</code>{" "}
            <span className="text-xs text-zinc-500">{t(`scopeHelp.${s.replace(":", "_")}`)}</span>
          </label>
        ))}
        <ErrorText id="f-scopes-error" error={state?.errors?.scopes} />
      </fieldset>
      <Field
        name="expiresAt"
        label={t("expiresAt")}
        type="date"
        hint={t("expiresHint")}
        error={state?.errors?.expiresAt}
      />
      <SubmitButton>{t("create")}</SubmitButton>
    </KeptForm>
  );
}

export function RevokeApiKeyButton({ org, apiKeyId }: { org: string; apiKeyId: string }) {
  const t = useTranslations("apiKeys");
  const [state, action] = useActionState(revokeApiKeyAction, undefined);
  return (
    <form
      action={action}
      onSubmit={(e) => {
        if (!window.confirm(t("revokeConfirm"))) e.preventDefault();
      }}
    >
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="apiKeyId" value={apiKeyId} />
      <SubmitButton className="btn-danger px-2 py-1 text-xs">{t("revoke")}</SubmitButton>
      {state && !state.ok ? (
        <p role="alert" className="text-xs text-red-600">
          {state.message}
        </p>
      ) : null}
    </form>
  );
}
