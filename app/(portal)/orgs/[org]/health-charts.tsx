// The overview's pictures of health (data: lib/audit/health-series.ts), server-rendered SVG.
import { getFormatter, getTranslations } from "next-intl/server";
import { db } from "@/lib/db/client";
import {
  CONNECTION_STATUSES,
  REFRESH_FAILURE_CLASSES,
  connectionStatusSeries,
  refreshSeries,
  refreshTokenLapses,
  type TRefreshBucket,
} from "@/lib/audit/health-series";
import { LineChart, StackedBarChart, type TChartSeries, type TTone } from "@/app/_components/charts";
import { Card } from "@/app/_components/ui";

const FAILURE_TONES: Record<string, TTone> = {
  needs_reconsent: "orange",
  consent_missing: "fuchsia",
  app_misconfigured: "red",
  clock_skew: "sky",
  retryable: "amber",
  invalid_response: "violet",
  other: "zinc",
};
const STATUS_TONES: Record<string, TTone> = {
  active: "emerald",
  pending_consent: "amber",
  needs_reconsent: "orange",
  error: "red",
  revoked: "zinc",
};
const STATUS_DAYS = 14;

export async function HealthCharts({ organizationId }: { organizationId: string }) {
  const t = await getTranslations("health");
  const ts = await getTranslations("status");
  const format = await getFormatter();
  const now = new Date();
  const [hours, days, statuses, lapses] = await Promise.all([
    refreshSeries({ db: db(), organizationId, unit: "hour", count: 24, now }),
    refreshSeries({ db: db(), organizationId, unit: "day", count: 7, now }),
    connectionStatusSeries({ db: db(), organizationId, days: STATUS_DAYS, now }),
    refreshTokenLapses({ db: db(), organizationId, days: 30, now }),
  ]);

  const hourTick = (d: Date) => format.dateTime(d, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const hourLabel = (d: Date) =>
    format.dateTime(d, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const dayTick = (d: Date) => format.dateTime(d, { month: "numeric", day: "numeric" });
  const dayLabel = (d: Date) => format.dateTime(d, { dateStyle: "medium" });

  /** Succeeded, then the failure classes that occurred (a legend of classes that never happened helps nobody). */
  const refreshChart = (id: string, buckets: TRefreshBucket[], unit: "hour" | "day") => {
    const seen = new Set(buckets.flatMap((b) => Object.keys(b.failed)));
    const classes = [...REFRESH_FAILURE_CLASSES, "other"].filter((c) => seen.has(c));
    const series: TChartSeries[] = [
      { key: "success", label: t("succeeded"), tone: "emerald" },
      ...classes.map((c) => ({ key: c, label: t(`failed.${c}`), tone: FAILURE_TONES[c]! })),
    ];
    const success = buckets.reduce((n, b) => n + b.success, 0);
    const failedBy = Object.fromEntries(classes.map((c) => [c, buckets.reduce((n, b) => n + (b.failed[c] ?? 0), 0)]));
    const failed = Object.values(failedBy).reduce((a, b) => a + b, 0);
    const totals = buckets.map((b) => b.success + Object.values(b.failed).reduce((x, y) => x + y, 0));
    const peak = Math.max(...totals);
    const label = unit === "hour" ? hourLabel : dayLabel;
    const summary = [
      t("refreshSummary", { window: unit === "hour" ? t("windowDay") : t("windowWeek"), success, failed }),
      failed
        ? t("failureBreakdown", {
            list: format.list(classes.map((c) => `${t(`failed.${c}`)} ${failedBy[c]}`)),
          })
        : "",
      peak > 0 ? t("busiest", { when: label(buckets[totals.indexOf(peak)]!.start), count: peak }) : "",
    ]
      .filter(Boolean)
      .join(" ");
    return (
      <StackedBarChart
        id={id}
        title={unit === "hour" ? t("refreshesDay") : t("refreshesWeek")}
        summary={summary}
        series={series}
        points={buckets.map((b, i) => ({
          tick: unit === "hour" ? (i % 6 === 0 ? hourTick(b.start) : "") : dayTick(b.start),
          label: label(b.start),
          values: { success: b.success, ...b.failed },
        }))}
        labels={{ head: unit === "hour" ? t("hourHead") : t("dayHead"), showData: t("showData"), total: t("total") }}
      />
    );
  };

  const statusList = (counts: Record<string, number>) => {
    const parts = CONNECTION_STATUSES.filter((s) => counts[s]).map((s) => `${ts(s)} ${counts[s]}`);
    return parts.length ? format.list(parts) : t("statusNone");
  };
  const first = statuses[0]!;
  const last = statuses.at(-1)!;

  return (
    <div className="mt-6 grid gap-6 lg:grid-cols-2" data-testid="health-charts">
      <Card title={t("refreshesDay")}>{refreshChart("refreshes-hourly", hours, "hour")}</Card>
      <Card title={t("refreshesWeek")}>{refreshChart("refreshes-daily", days, "day")}</Card>
      <Card title={t("statuses")}>
        <LineChart
          id="connection-statuses"
          title={t("statuses")}
          summary={t("statusSummary", {
            today: statusList(last.counts),
            days: STATUS_DAYS - 1,
            then: statusList(first.counts),
          })}
          series={CONNECTION_STATUSES.map((s) => ({ key: s, label: ts(s), tone: STATUS_TONES[s]! }))}
          points={statuses.map((p, i) => ({
            tick: i % 2 === (STATUS_DAYS - 1) % 2 ? dayTick(p.day) : "",
            label: dayLabel(p.day),
            values: p.counts,
          }))}
          labels={{ head: t("dayHead"), showData: t("showData") }}
        />
        <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">{t("statusMethod")}</p>
      </Card>
      <Card title={t("lapses")}>
        <p className="text-2xl font-semibold tabular-nums" data-testid="lapsing-count">
          {lapses.total}
        </p>
        <p className="mb-3 text-sm text-zinc-700 dark:text-zinc-300">
          {t("lapseSummary", { count: lapses.total })} {lapses.total ? t("lapseHint") : null}
        </p>
        <StackedBarChart
          id="refresh-token-lapses"
          title={t("lapses")}
          summary={[
            t("lapseSummary", { count: lapses.total }),
            ...lapses.buckets.map(
              (b) => `${t("lapseRange", { from: dayLabel(b.from), to: dayLabel(b.to) })}: ${b.count}`,
            ),
          ].join(" ")}
          series={[{ key: "count", label: t("refreshTokens"), tone: "amber" }]}
          points={lapses.buckets.map((b) => ({
            tick: t("lapseRange", { from: dayTick(b.from), to: dayTick(b.to) }),
            label: t("lapseRange", { from: dayLabel(b.from), to: dayLabel(b.to) }),
            values: { count: b.count },
          }))}
          labels={{ head: t("periodHead"), showData: t("showData") }}
        />
      </Card>
    </div>
  );
}
