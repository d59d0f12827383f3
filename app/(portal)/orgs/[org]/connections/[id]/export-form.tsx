"use client";
// Export a connection as an encrypted file: passphrase twice, then the browser downloads the file.
import { startTransition, useActionState, useEffect } from "react";
import { useTranslations } from "next-intl";
import { Field, FormMessage } from "@/app/_components/form";
import { exportConnectionAction } from "./export-actions";

/** The statuses whose connections can be exported (they hold a grant): lib/connections/export-connection.ts */
const EXPORTABLE = ["active", "needs_reconsent", "error"];

/**
 * For admins and owners (the action checks the role again). `status`: the connection's status; other
 * statuses show why there is nothing to export.
 */
export function ExportForm({ org, connectionId, status }: { org: string; connectionId: string; status: string }) {
  const t = useTranslations("connectionExport");
  const [state, action, pending] = useActionState(exportConnectionAction, undefined);
  useEffect(() => {
    const file = state?.ok ? state.data : undefined;
    if (!file?.content || !file.filename) return;
    // hand the file to the browser's downloads; the object URL is released once the click has taken it
    const url = URL.createObjectURL(new Blob([file.content], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = file.filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }, [state]);

  if (!EXPORTABLE.includes(status))
    return <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("notExportable")}</p>;
  return (
    <form
      action={action}
      className="space-y-3"
      noValidate
      onSubmit={(e) => {
        // `action` serves a submit before hydration (never a GET with the passphrase in the URL); once
        // hydrated this submits without React's automatic reset: a refused submit keeps what was typed
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        startTransition(() => action(data));
      }}
    >
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="connectionId" value={connectionId} />
      <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("description")}</p>
      <FormMessage state={state} />
      <Field
        name="passphrase"
        label={t("passphrase")}
        type="password"
        autoComplete="new-password"
        required
        minLength={12}
        hint={t("passphraseHint")}
        error={state?.errors?.passphrase}
      />
      <Field
        name="confirm"
        label={t("confirm")}
        type="password"
        autoComplete="new-password"
        required
        minLength={12}
        error={state?.errors?.confirm}
      />
      <p className="text-xs text-amber-700 dark:text-amber-300">{t("warning")}</p>
      <button type="submit" className="btn-secondary w-full" disabled={pending} aria-busy={pending}>
        {pending ? t("pending") : t("submit")}
      </button>
    </form>
  );
}
