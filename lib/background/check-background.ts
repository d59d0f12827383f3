// The background work's state as this installation is configured: read (cached a few seconds),
// then judged against CONSENTRY_HEALTH_OVERDUE_SECONDS and the refresh interval.
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { assessBackground, type TBackgroundAssessment } from "@/lib/background/assess-background";
import { readBackgroundStatusCached } from "@/lib/background/read-background-status";

export async function checkBackground({ db }: { db: Db }): Promise<TBackgroundAssessment> {
  const e = env();
  return assessBackground(await readBackgroundStatusCached({ db }), {
    thresholdSeconds: e.healthOverdueSeconds,
    refreshIntervalSeconds: e.refreshIntervalSeconds,
    uptimeSeconds: process.uptime(),
  });
}
