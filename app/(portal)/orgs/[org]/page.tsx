import Link from "next/link";
import { getFormatter, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { countConnectionsByStatus, listAttention } from "@/lib/connections/list-connections";
import { env } from "@/lib/env";
import { listAuditEvents } from "@/lib/audit/list-audit-events";
import { Badge, Card, PageHeader, TextLink } from "@/app/_components/ui";
import { actionName, actorName } from "@/app/_components/audit-table";
import { HealthCharts } from "./health-charts";

export async function generateMetadata() {
  return { title: (await getTranslations("overview"))("title") };
}

const STATUSES = ["active", "pending_consent", "needs_reconsent", "error", "revoked"] as const;

export default async function OverviewPage({ params }: { params: Promise<{ org: string }> }) {
  const { org } = await requireOrg((await params).org);
  const t = await getTranslations("overview");
  const ts = await getTranslations("status");
  const ta = await getTranslations("audit");
  const format = await getFormatter();
  const [counts, apps, keys, recent, attention] = await Promise.all([
    countConnectionsByStatus({ db: db(), organizationId: org.id }),
    db().oAuthApp.count({ where: { OR: [{ organizationId: org.id }, { organizationId: null }] } }),
    db().apiKey.count({ where: { organizationId: org.id, revokedAt: null } }),
    listAuditEvents({ db: db(), organizationId: org.id, query: { limit: 5 } }),
    listAttention({ db: db(), organizationId: org.id, warningDays: env().expiryWarningDays }),
  ]);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const base = `/orgs/${org.slug}`;
  const steps = [
    { done: apps > 0, label: t("stepApp"), href: `${base}/apps` },
    { done: total > 0, label: t("stepConnection"), href: `${base}/connections` },
    { done: keys > 0, label: t("stepApiKey"), href: `${base}/api-keys` },
  ];
  return (
    <>
      <PageHeader title={org.name} description={t("description")} />
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
        {STATUSES.map((s) => (
          <Link key={s} href={`${base}/connections`} className="card p-4 hover:border-indigo-400">
            <p className="text-xs font-medium uppercase tracking-wide text-zinc-500">{ts(s)}</p>
            <p className="mt-2 text-2xl font-semibold tabular-nums">{counts[s] ?? 0}</p>
          </Link>
        ))}
      </div>
      <HealthCharts organizationId={org.id} />
      {attention.length > 0 ? (
        <section className="card mt-6 border-amber-300 dark:border-amber-800" aria-labelledby="attention">
          <h2 id="attention" className="border-b border-zinc-200 px-5 py-3 text-sm font-semibold dark:border-zinc-800">
            {t("attention")}
          </h2>
          <ul className="divide-y divide-zinc-100 dark:divide-zinc-800">
            {attention.map((c) => (
              <li key={c.id} className="flex items-center justify-between gap-3 px-5 py-3 text-sm">
                <Link
                  href={`${base}/connections/${c.id}`}
                  className="min-w-0 font-medium text-indigo-600 wrap-anywhere hover:underline dark:text-indigo-400"
                >
                  {c.name}
                </Link>
                <span className="text-xs text-zinc-600 dark:text-zinc-400">
                  {c.status === "active" && c.refreshTokenExpiresAt ? (
                    t("refreshTokenExpiring", { when: format.relativeTime(c.refreshTokenExpiresAt) })
                  ) : (
                    <Badge tone={c.status}>{ts(c.status)}</Badge>
                  )}
                </span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <div className="mt-6 grid gap-6 lg:grid-cols-2">
        <Card title={t("gettingStarted")}>
          <ol className="space-y-3">
            {steps.map((s, i) => (
              <li key={i} className="flex items-start gap-3 text-sm">
                <span
                  aria-hidden
                  className={`mt-0.5 flex h-5 w-5 shrink-0 items-center justify-center rounded-full text-xs font-semibold ${s.done ? "bg-emerald-600 text-white" : "bg-zinc-200 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300"}`}
                >
                  {s.done ? "✓" : i + 1}
                </span>
                <span>
                  <TextLink href={s.href}>{s.label}</TextLink>
                  <span className="sr-only">{s.done ? t("done") : t("notDone")}</span>
                </span>
              </li>
            ))}
          </ol>
        </Card>
        <Card title={t("recentActivity")} footer={<TextLink href={`${base}/audit`}>{t("viewAudit")}</TextLink>}>
          {recent.events.length === 0 ? (
            <p className="text-sm text-zinc-500">{t("noActivity")}</p>
          ) : (
            <ul className="space-y-2 text-sm">
              {recent.events.map((e) => (
                <li key={e.id} className="flex items-center justify-between gap-3">
                  <span className="truncate">
                    <span title={e.action}>{actionName(ta, e.action)}</span>{" "}
                    <span className="text-zinc-600 dark:text-zinc-400">
                      · {actorName(ta, e).label ?? actorName(ta, e).type}
                    </span>
                  </span>
                  <span className="flex shrink-0 items-center gap-2">
                    <Badge tone={e.outcome}>{ts(`outcome.${e.outcome}`)}</Badge>
                    <time dateTime={e.createdAt.toISOString()} className="text-xs text-zinc-500">
                      {format.relativeTime(e.createdAt)}
                    </time>
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}
