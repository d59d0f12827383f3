"use client";
import { startTransition, useActionState } from "react";
import { useTranslations } from "next-intl";
import { Field, FormMessage } from "@/app/_components/form";
import { importConnectionAction } from "./actions";

type App = { id: string; name: string; providerName: string; clientId: string; owner: "organization" | "platform" };

/** The first error under `file` (file, file.version, file.settings.token_url …). */
function fileError(errors: Record<string, string> | undefined): string | undefined {
  return Object.entries(errors ?? {}).find(([k]) => k === "file" || k.startsWith("file."))?.[1];
}

export function ImportForm({ org, apps }: { org: string; apps: App[] }) {
  const t = useTranslations("connectionImport");
  const [state, action, pending] = useActionState(importConnectionAction, undefined);
  const fileErr = fileError(state?.errors);
  const appErr = state?.errors?.oauth_app_id;
  return (
    <form
      action={action}
      className="card space-y-4 p-6"
      noValidate
      onSubmit={(e) => {
        // `action` serves a submit before hydration (never a GET with the passphrase in the URL); once
        // hydrated this submits without React's automatic reset: a refused submit keeps file, passphrase, app
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        startTransition(() => action(data));
      }}
    >
      <input type="hidden" name="org" value={org} />
      <FormMessage state={state} />
      <div>
        <label htmlFor="f-file" className="label">
          {t("file")}
        </label>
        <input
          id="f-file"
          name="file"
          type="file"
          accept="application/json,.json"
          required
          className="input"
          aria-invalid={Boolean(fileErr)}
          aria-describedby={["f-file-hint", fileErr ? "f-file-error" : null].filter(Boolean).join(" ")}
        />
        <p id="f-file-hint" className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
          {t("fileHint")}
        </p>
        {fileErr ? (
          <p id="f-file-error" role="alert" className="mt-1 text-xs text-red-600 dark:text-red-400">
            {fileErr}
          </p>
        ) : null}
      </div>
      <Field
        name="passphrase"
        label={t("passphrase")}
        type="password"
        autoComplete="off"
        required
        minLength={12}
        error={state?.errors?.passphrase}
      />
      <div>
        <label htmlFor="f-oauthAppId" className="label">
          {t("app")}
        </label>
        <select
          id="f-oauthAppId"
          name="oauthAppId"
          className="input"
          defaultValue=""
          aria-invalid={Boolean(appErr)}
          aria-describedby={["f-oauthAppId-hint", appErr ? "f-oauthAppId-error" : null].filter(Boolean).join(" ")}
        >
          <option value="">{t("appAuto")}</option>
          {apps.map((a) => (
            <option key={a.id} value={a.id}>
              {t("appOption", {
                provider: a.providerName,
                name: a.name,
                clientId: a.clientId,
                owner: a.owner === "platform" ? t("ownerPlatform") : t("ownerOrganization"),
              })}
            </option>
          ))}
        </select>
        <p id="f-oauthAppId-hint" className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
          {t("appHint")}
        </p>
        {appErr ? (
          <p id="f-oauthAppId-error" role="alert" className="mt-1 text-xs text-red-600 dark:text-red-400">
            {appErr}
          </p>
        ) : null}
      </div>
      <button type="submit" className="btn-primary" disabled={pending} aria-busy={pending}>
        {pending ? t("pending") : t("submit")}
      </button>
    </form>
  );
}
