"use client";
import { useActionState } from "react";
import { useTranslations } from "next-intl";
import { ErrorText, Field, FormMessage, KeptForm, SubmitButton } from "@/app/_components/form";
import { CopyButton } from "@/app/_components/copy-button";
import { createWebhookAction, deleteWebhookAction, sendTestEventAction } from "./actions";

export function CreateWebhookForm({ org, events }: { org: string; events: readonly string[] }) {
  const t = useTranslations("webhooks");
  const [state, action, pending] = useActionState(createWebhookAction, undefined);
  return (
    <KeptForm action={action} pending={pending} state={state} resetOnSuccess className="space-y-4">
      <input type="hidden" name="org" value={org} />
      <FormMessage state={state} />
      {state?.data?.secret ? (
        <div className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950">
          <p>{t("secretOnce")}</p>
          <div className="mt-1 flex items-center gap-2">
            <code className="select-all break-all font-mono text-xs" data-testid="webhook-secret">
              {state.data.secret}
            </code>
            <CopyButton value={state.data.secret} />
          </div>
        </div>
      ) : null}
      <Field
        name="url"
        label={t("url")}
        type="url"
        required
        placeholder="https://jobs.example.com/hooks/consentry"
        error={state?.errors?.url}
      />
      <fieldset aria-describedby={state?.errors?.events ? "f-events-error" : undefined}>
        <legend className="label">{t("events")}</legend>
        {/* one column: the event names are long, and two columns of them overlapped in the side card */}
        <div className="grid gap-1">
          {events.map((e) => (
            <label key={e} className="flex items-start gap-2 text-sm">
              <input type="checkbox" name="events" value={e} defaultChecked className="mt-0.5 shrink-0" />
              <code className="min-w-0 text-xs wrap-anywhere">{e}</code>
            </label>
          ))}
        </div>
        <ErrorText id="f-events-error" error={state?.errors?.events} />
      </fieldset>
      <SubmitButton>{t("add")}</SubmitButton>
    </KeptForm>
  );
}

export function DeleteWebhookButton({ org, endpointId }: { org: string; endpointId: string }) {
  const t = useTranslations("webhooks");
  const [, action] = useActionState(deleteWebhookAction, undefined);
  return (
    <form
      action={action}
      onSubmit={(e) => {
        if (!window.confirm(t("deleteConfirm"))) e.preventDefault();
      }}
    >
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="endpointId" value={endpointId} />
      <SubmitButton className="btn-danger px-2 py-1 text-xs">{t("delete")}</SubmitButton>
    </form>
  );
}

/** Sends a signed `webhook.test` to this endpoint now and tells what it answered. */
export function SendTestEventButton({ org, endpointId }: { org: string; endpointId: string }) {
  const t = useTranslations("webhooks");
  const [state, action] = useActionState(sendTestEventAction, undefined);
  return (
    <form action={action} className="flex flex-col items-end gap-1">
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="endpointId" value={endpointId} />
      <SubmitButton className="btn-secondary whitespace-nowrap px-2 py-1 text-xs" pendingLabel={t("testSending")}>
        {t("sendTest")}
      </SubmitButton>
      {state?.message ? (
        <p
          role={state.ok ? "status" : "alert"}
          data-testid="test-event-outcome"
          className={`max-w-56 text-right text-xs ${state.ok ? "text-emerald-700 dark:text-emerald-300" : "text-red-600 dark:text-red-400"}`}
        >
          {state.message}
        </p>
      ) : null}
    </form>
  );
}
