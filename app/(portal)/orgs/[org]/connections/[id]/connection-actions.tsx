"use client";
import { useActionState } from "react";
import { useTranslations } from "next-intl";
import { FormMessage, SubmitButton } from "@/app/_components/form";
import { CopyButton } from "@/app/_components/copy-button";
import {
  connectNowAction,
  createConsentLinkAction,
  disconnectAction,
  pasteRedirectAction,
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

export function ConsentLinkPanel({ org, connectionId }: { org: string; connectionId: string }) {
  const t = useTranslations("connection");
  const [state, action] = useActionState(createConsentLinkAction, undefined);
  return (
    <form action={action} className="space-y-2">
      <Ref org={org} connectionId={connectionId} />
      <SubmitButton className="btn-secondary w-full">{t("createLink")}</SubmitButton>
      {state?.data?.url ? (
        <div className="rounded-md border border-emerald-300 bg-emerald-50 p-3 text-xs dark:border-emerald-800 dark:bg-emerald-950">
          <p className="mb-1">{t("linkHint")}</p>
          <div className="flex items-center gap-2">
            <input
              readOnly
              value={state.data.url}
              aria-label={t("consentLink")}
              data-testid="consent-link"
              className="input font-mono text-xs"
              onFocus={(e) => e.currentTarget.select()}
            />
            <CopyButton value={state.data.url} />
          </div>
        </div>
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
    <form action={action}>
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
  const [state, action] = useActionState(pasteRedirectAction, undefined);
  return (
    <form action={action} className="space-y-2">
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
      />
      {state?.errors?.pasted ? (
        <p role="alert" className="text-xs text-red-600">
          {state.errors.pasted}
        </p>
      ) : null}
      <SubmitButton className="btn-primary w-full">{t("pasteSubmit")}</SubmitButton>
    </form>
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
  const [state, action] = useActionState(startActivityAction, undefined);
  return (
    <form action={action} className="space-y-2">
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
    </form>
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
