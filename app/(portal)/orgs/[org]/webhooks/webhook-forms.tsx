"use client";
import { useActionState } from "react";
import { useTranslations } from "next-intl";
import { Field, FormMessage, SubmitButton } from "@/app/_components/form";
import { CopyButton } from "@/app/_components/copy-button";
import { createWebhookAction, deleteWebhookAction } from "./actions";

export function CreateWebhookForm({ org, events }: { org: string; events: readonly string[] }) {
  const t = useTranslations("webhooks");
  const [state, action] = useActionState(createWebhookAction, undefined);
  return (
    <form action={action} className="space-y-4">
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
      <fieldset>
        <legend className="label">{t("events")}</legend>
        <div className="grid gap-1 sm:grid-cols-2">
          {events.map((e) => (
            <label key={e} className="flex items-center gap-2 text-sm">
              <input type="checkbox" name="events" value={e} defaultChecked />
              <code className="text-xs">{e}</code>
            </label>
          ))}
        </div>
        {state?.errors?.events ? (
          <p role="alert" className="mt-1 text-xs text-red-600">
            {state.errors.events}
          </p>
        ) : null}
      </fieldset>
      <SubmitButton>{t("add")}</SubmitButton>
    </form>
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
