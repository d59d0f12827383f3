// Whether the background work is keeping up: the verdict /api/health, the staff banner and the
// README's example alerts share. Work is overdue when it has waited longer than the threshold
// (CONSENTRY_HEALTH_OVERDUE_SECONDS), or the refresh scheduler has not finished a run for as long.
import type { TBackgroundStatus } from "@/lib/background/read-background-status";

export type TBackgroundReason = "scheduler_not_running" | "refresh_overdue" | "webhooks_overdue";

export type TBackgroundAssessment = {
  status: "ok" | "degraded";
  reasons: TBackgroundReason[];
  scheduler: { lastRunAt: string | null; lastRunAgeSeconds: number | null; lastRun: Record<string, unknown> | null };
  refresh: { due: number; oldestOverdueSeconds: number | null };
  webhooks: { pending: number; due: number; oldestDueSeconds: number | null };
  thresholdSeconds: number;
};

const ageSeconds = (at: Date, from: Date | null) =>
  from ? Math.max(0, Math.round((at.getTime() - from.getTime()) / 1000)) : null;

/**
 * `refreshIntervalSeconds`: the scheduler is late after max(threshold, 3 intervals), so a long interval
 * alone never reads as a stopped scheduler. `uptimeSeconds`: an installation whose scheduler has never
 * run is only late once this process has been up for the threshold (a first start is not an alarm).
 */
export function assessBackground(
  s: TBackgroundStatus,
  {
    thresholdSeconds,
    refreshIntervalSeconds,
    uptimeSeconds,
  }: { thresholdSeconds: number; refreshIntervalSeconds: number; uptimeSeconds: number },
): TBackgroundAssessment {
  const reasons: TBackgroundReason[] = [];
  const lastRunAge = ageSeconds(s.at, s.scheduler.lastRunAt);
  const schedulerLimit = Math.max(thresholdSeconds, 3 * refreshIntervalSeconds);
  if (lastRunAge === null ? uptimeSeconds > schedulerLimit : lastRunAge > schedulerLimit)
    reasons.push("scheduler_not_running");
  const oldestOverdue = ageSeconds(s.at, s.refresh.oldestDueAt);
  if (oldestOverdue !== null && oldestOverdue > thresholdSeconds) reasons.push("refresh_overdue");
  const oldestWebhook = ageSeconds(s.at, s.webhooks.oldestDueAt);
  if (oldestWebhook !== null && oldestWebhook > thresholdSeconds) reasons.push("webhooks_overdue");
  return {
    status: reasons.length ? "degraded" : "ok",
    reasons,
    scheduler: {
      lastRunAt: s.scheduler.lastRunAt?.toISOString() ?? null,
      lastRunAgeSeconds: lastRunAge,
      lastRun: s.scheduler.lastRun,
    },
    refresh: { due: s.refresh.due, oldestOverdueSeconds: oldestOverdue },
    webhooks: { pending: s.webhooks.pending, due: s.webhooks.due, oldestDueSeconds: oldestWebhook },
    thresholdSeconds,
  };
}
