import { notFound } from "next/navigation";
import { getFormatter, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { getConnection } from "@/lib/connections/get-connection";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { callbackUrl } from "@/lib/consent/start-consent";
import { Badge, Card, PageHeader } from "@/app/_components/ui";
import { CONTENT_TYPES } from "@/lib/activity/management-api";
import {
  ActivityStartForm,
  ActivityStopButton,
  ConnectNowButton,
  ConsentLinkPanel,
  DisconnectButton,
  EditConnectionForm,
  PasteRedirectForm,
  PurgeButton,
  RefreshNowButton,
  RevokeLinkButton,
  TestConnectionButton,
} from "./connection-actions";
import { roleAtLeast } from "@/lib/auth/roles";
import { ExportForm } from "./export-form";
import { TokenTimeline } from "./token-timeline";
import { ConnectionActivity } from "./connection-activity";
import { secretSettingKeys } from "@/lib/connections/secret-settings";

export async function generateMetadata() {
  return { title: (await getTranslations("connection"))("title") };
}

const DISCONNECTED = {
  revoked: "disconnectedRevoked",
  unsupported: "disconnectedUnsupported",
  failed: "disconnectedFailed",
} as const;

export default async function ConnectionPage({
  params,
  searchParams,
}: {
  params: Promise<{ org: string; id: string }>;
  searchParams: Promise<{ disconnected?: string }>;
}) {
  const p = await params;
  const sp = await searchParams;
  const disconnected = DISCONNECTED[sp.disconnected as keyof typeof DISCONNECTED] as
    (typeof DISCONNECTED)[keyof typeof DISCONNECTED] | undefined;
  const { org, role } = await requireOrg(p.org);
  const c = await getConnection({ db: db(), organizationId: org.id, connectionId: p.id });
  if (!c) notFound();
  const t = await getTranslations("connection");
  const ts = await getTranslations("status");
  const te = await getTranslations("lastErrors");
  const tf = await getTranslations("settingsFields");
  const tp = await getTranslations("providerNames");
  // a setting by its translated label (the wizard's), not its key; an unknown key as it is
  const settingLabel = (k: string) => (tf.has(`${k}.label`) ? tf(`${k}.label`) : k);
  const format = await getFormatter();
  const provider = PROVIDERS.get(c.providerId);
  const settings = JSON.parse(c.settings) as Record<string, unknown>;
  const secretKeys = secretSettingKeys(c);
  const metadata = JSON.parse(c.customerMetadata) as Record<string, string>;
  const asText = (v: unknown) =>
    v === undefined || v === null
      ? ""
      : typeof v === "object"
        ? Object.entries(v as Record<string, string>)
            .map(([k, x]) => `${k}=${x}`)
            .join("\n")
        : String(v);
  const headless = Boolean(c.oauthApp?.redirectUri && c.oauthApp.redirectUri !== callbackUrl(c.providerId));
  const oauth = provider?.authKind === "oauth2";
  const when = (d: Date | null) =>
    d ? `${format.dateTime(d, { dateStyle: "medium", timeStyle: "short" })} (${format.relativeTime(d)})` : "—";
  const rows: Array<[string, React.ReactNode]> = [
    [t("provider"), tp.has(c.providerId) ? tp(c.providerId) : (provider?.name ?? c.providerId)],
    [
      t("status"),
      <Badge key="s" tone={c.status}>
        {ts(c.status)}
      </Badge>,
    ],
    ...(c.externalTenantId
      ? ([
          [
            t("tenant"),
            <code key="t" data-testid="tenant-id">
              {c.externalTenantId}
            </code>,
          ],
        ] as Array<[string, React.ReactNode]>)
      : []),
    [t("account"), [c.accountName, c.accountEmail].filter(Boolean).join(" · ") || "—"],
    [t("requestedScopes"), c.requestedScopes || "—"],
    ...(oauth
      ? ([
          [
            t("grantedScopes"),
            <span key="g" data-testid="granted-scopes">
              {c.scopes || (c.status === "active" ? t("grantedScopesUnsaid") : "—")}
            </span>,
          ],
        ] as Array<[string, React.ReactNode]>)
      : []),
    [t("connectedAt"), when(c.connectedAt)],
    [t("expiresAt"), when(c.expiresAt)],
    [t("refreshTokenExpiresAt"), when(c.refreshTokenExpiresAt)],
    [t("lastRefreshedAt"), when(c.lastRefreshedAt)],
    [t("nextRefreshAt"), when(c.nextRefreshAt)],
    [t("attempts"), String(c.refreshAttempts)],
    ...(c.oauthApp
      ? ([[t("app"), `${c.oauthApp.name} (${c.oauthApp.organizationId ? t("orgApp") : t("platformApp")})`]] as Array<
          [string, React.ReactNode]
        >)
      : []),
    ...Object.entries(settings).map(
      ([k, v]) => [settingLabel(k), typeof v === "object" ? JSON.stringify(v) : String(v)] as [string, React.ReactNode],
    ),
    ...secretKeys.map((k) => [settingLabel(k), <em key={k}>{t("secretSettingSet")}</em>] as [string, React.ReactNode]),
    ...(Object.keys(metadata).length
      ? ([
          [
            t("metadata"),
            <dl key="m" className="grid grid-cols-[auto_1fr] gap-x-3 font-mono text-xs" data-testid="metadata">
              {Object.entries(metadata).map(([k, v]) => (
                <div key={k} className="contents">
                  <dt className="text-zinc-600 dark:text-zinc-400">{k}</dt>
                  <dd className="break-all">{v}</dd>
                </div>
              ))}
            </dl>,
          ],
        ] as Array<[string, React.ReactNode]>)
      : []),
  ];
  // Microsoft 365: the Activity API subscriptions and the content that arrived last
  const activity =
    provider?.appOnly && c.externalTenantId
      ? {
          subscriptions: await db().activitySubscription.findMany({
            where: { connectionId: c.id, organizationId: org.id },
          }),
          recent: await db().activityContent.findMany({
            where: { connectionId: c.id, organizationId: org.id },
            orderBy: [{ createdAt: "desc" }],
            take: 5,
            select: { contentId: true, contentType: true, contentCreated: true, source: true, acknowledgedAt: true },
          }),
        }
      : null;
  const enabled = new Set(activity?.subscriptions.filter((s) => s.status === "enabled").map((s) => s.contentType));
  return (
    <>
      <PageHeader title={c.name} description={t("description")} />
      {disconnected && c.status === "revoked" ? (
        <p
          role="status"
          data-testid="disconnected-notice"
          className={`mb-4 rounded-md px-4 py-3 text-sm break-words ${disconnected === "disconnectedFailed" ? "bg-amber-50 text-amber-900 dark:bg-amber-950 dark:text-amber-100" : "bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200"}`}
        >
          {t(disconnected)}
        </p>
      ) : null}
      {c.lastErrorMessage ? (
        <p
          role="alert"
          className="mb-4 rounded-md bg-red-50 px-4 py-3 text-sm text-red-800 dark:bg-red-950 dark:text-red-200"
        >
          {t("lastError", { when: c.lastErrorAt ? format.relativeTime(c.lastErrorAt) : "" })}{" "}
          {te.has(c.lastErrorCode ?? "") ? te(c.lastErrorCode!) : <code>{c.lastErrorMessage}</code>}
        </p>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-[1fr_24rem]">
        <div className="min-w-0 space-y-6">
          <Card title={t("details")}>
            <dl className="grid grid-cols-1 gap-x-6 gap-y-3 text-sm sm:grid-cols-[12rem_1fr]">
              {rows.map(([k, v]) => (
                <div key={k} className="contents">
                  <dt className="text-zinc-500">{k}</dt>
                  <dd className="break-all">{v}</dd>
                </div>
              ))}
            </dl>
          </Card>
          <TokenTimeline connection={c} />
          {roleAtLeast(role, "admin") ? (
            <ConnectionActivity organizationId={org.id} orgSlug={org.slug} connectionId={c.id} />
          ) : null}
          {roleAtLeast(role, "member") ? (
            <Card title={t("editTitle")}>
              <details>
                <summary className="cursor-pointer text-sm font-medium">{t("editOpen")}</summary>
                <div className="mt-4">
                  <EditConnectionForm
                    org={org.slug}
                    connectionId={c.id}
                    name={c.name}
                    scopes={c.requestedScopes}
                    metadata={asText(metadata)}
                    oauth={oauth}
                    settings={(provider?.settings ?? []).map((s) => ({
                      key: s.key,
                      type: s.type,
                      required: s.required,
                      options: s.options ?? null,
                      secret: s.secret,
                      reconsent: s.reconsentOnChange,
                      value: s.secret
                        ? ""
                        : s.type === "boolean"
                          ? String(settings[s.key] ?? s.default ?? false)
                          : asText(settings[s.key]),
                      isSet: secretKeys.includes(s.key),
                    }))}
                  />
                </div>
              </details>
            </Card>
          ) : null}
        </div>
        {activity ? (
          <div className="lg:col-span-2 lg:row-start-2" data-testid="activity-feed">
            <Card title={t("activityTitle")}>
              <p className="mb-4 text-sm text-zinc-600 dark:text-zinc-400">{t("activityIntro")}</p>
              <div className="overflow-x-auto">
                <table className="w-full text-left text-sm">
                  <thead className="text-xs text-zinc-500">
                    <tr>
                      <th scope="col">{t("activityContentType")}</th>
                      <th scope="col">{t("status")}</th>
                      <th scope="col">{t("activityWebhook")}</th>
                      <th scope="col">{t("activityLastNotification")}</th>
                      <th scope="col">{t("activityLastPoll")}</th>
                      <th scope="col">
                        <span className="sr-only">{t("activityActions")}</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {CONTENT_TYPES.map((ct) => {
                      const s = activity.subscriptions.find((x) => x.contentType === ct);
                      return (
                        <tr key={ct} className="border-t border-zinc-100 align-top dark:border-zinc-800">
                          <td className="py-2 pr-3">
                            <code className="text-xs">{ct}</code>
                            {s?.lastErrorMessage ? (
                              <p role="status" className="mt-1 max-w-md text-xs text-red-700 dark:text-red-300">
                                {s.lastErrorCode ? <code>{s.lastErrorCode}</code> : null} {s.lastErrorMessage}
                              </p>
                            ) : null}
                          </td>
                          <td className="py-2 pr-3">{t(`activityStatus.${s?.status ?? "not_started"}`)}</td>
                          <td className="py-2 pr-3">{s ? t(`activityWebhookStatus.${s.webhookStatus}`) : "—"}</td>
                          <td className="py-2 pr-3">{when(s?.lastNotificationAt ?? null)}</td>
                          <td className="py-2 pr-3">{when(s?.lastPolledAt ?? null)}</td>
                          <td className="py-2">
                            {s?.status === "enabled" && roleAtLeast(role, "admin") ? (
                              <ActivityStopButton org={org.slug} connectionId={c.id} contentType={ct} />
                            ) : null}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
              <div className="mt-4 grid gap-6 md:grid-cols-2">
                {roleAtLeast(role, "admin") && enabled.size < CONTENT_TYPES.length ? (
                  <ActivityStartForm
                    org={org.slug}
                    connectionId={c.id}
                    contentTypes={CONTENT_TYPES.filter((ct) => !enabled.has(ct))}
                  />
                ) : null}
                <div>
                  <p className="label">{t("activityRecent")}</p>
                  {activity.recent.length === 0 ? (
                    <p className="text-sm text-zinc-500">{t("activityNone")}</p>
                  ) : (
                    <ul className="space-y-1 text-xs">
                      {activity.recent.map((r) => (
                        <li key={r.contentId} className="break-all">
                          <code>{r.contentType}</code> · {when(r.contentCreated)} · {t(`activitySource.${r.source}`)}
                          {r.acknowledgedAt ? ` · ${t("activityAcknowledged")}` : ""}
                        </li>
                      ))}
                    </ul>
                  )}
                </div>
              </div>
            </Card>
          </div>
        ) : null}
        <div className="space-y-6 lg:col-start-2 lg:row-start-1">
          {oauth ? (
            <Card title={c.status === "pending_consent" ? t("getConsent") : t("reconnect")}>
              {c.status === "revoked" || c.status === "needs_reconsent" ? (
                <p className="mb-3 text-sm text-zinc-700 dark:text-zinc-300" data-testid="reconnect-hint">
                  {t(c.status === "revoked" ? "reconnectRevoked" : "reconnectNeeded")}
                </p>
              ) : null}
              <p className="mb-4 text-sm text-zinc-600 dark:text-zinc-400">{t("consentChoices")}</p>
              <div className="space-y-4">
                <ConnectNowButton org={org.slug} connectionId={c.id} />
                <ConsentLinkPanel org={org.slug} connectionId={c.id} />
                {c.consentRequests.length > 0 ? (
                  <div>
                    <p className="label">{t("openLinks")}</p>
                    <ul className="space-y-2 text-xs">
                      {c.consentRequests.map((r) => (
                        <li key={r.id} className="flex items-center justify-between gap-2">
                          <span>
                            {t("linkExpires", {
                              date: format.dateTime(r.expiresAt, { dateStyle: "medium", timeStyle: "short" }),
                            })}
                          </span>
                          <RevokeLinkButton org={org.slug} connectionId={c.id} consentRequestId={r.id} />
                        </li>
                      ))}
                    </ul>
                  </div>
                ) : null}
              </div>
            </Card>
          ) : null}
          {headless ? (
            <Card title={t("headlessTitle")}>
              <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
                {t("headlessBody", { redirect: c.oauthApp!.redirectUri! })}
              </p>
              <PasteRedirectForm org={org.slug} connectionId={c.id} />
            </Card>
          ) : null}
          {oauth && (c.status === "active" || c.status === "error") ? (
            <Card title={t("refreshTitle")}>
              <RefreshNowButton org={org.slug} connectionId={c.id} />
            </Card>
          ) : null}
          {provider?.test ? (
            <Card title={t("testTitle")}>
              <TestConnectionButton
                org={org.slug}
                connectionId={c.id}
                disabled={c.status !== "active" && c.status !== "error"}
              />
            </Card>
          ) : null}
          {c.status !== "revoked" && roleAtLeast(role, "admin") ? (
            <Card title={t("disconnectTitle")}>
              <DisconnectButton org={org.slug} connectionId={c.id} />
            </Card>
          ) : null}
          {roleAtLeast(role, "admin") && oauth ? (
            <Card title={t("exportTitle")}>
              <ExportForm org={org.slug} connectionId={c.id} status={c.status} />
            </Card>
          ) : null}
          {roleAtLeast(role, "admin") ? (
            <Card title={t("purgeTitle")}>
              <PurgeButton org={org.slug} connectionId={c.id} name={c.name} />
            </Card>
          ) : null}
        </div>
      </div>
    </>
  );
}
