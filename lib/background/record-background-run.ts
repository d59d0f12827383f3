// Writes the last run of a kind of background work where every instance can see it (/api/health, the
// staff banner, the metrics): one row per kind, overwritten by whichever instance ran last.
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";

export type TBackgroundRunName = "refresh";

/** `summary` holds counts only (it is shown unauthenticated by /api/health): nothing of any organization. */
export async function recordBackgroundRun({
  db,
  name,
  summary,
  at = new Date(),
}: {
  db: Db;
  name: TBackgroundRunName;
  summary: Record<string, unknown>;
  at?: Date;
}): Promise<void> {
  const data = { finishedAt: at, summary: JSON.stringify(summary) };
  // two instances finishing at once may both try to create the row: the loser updates it instead
  for (let attempt = 0; ; attempt++) {
    try {
      await db.backgroundRun.upsert({ where: { name }, create: { name, ...data }, update: data });
      return;
    } catch (err) {
      if (attempt === 0) continue;
      // the run itself succeeded: a missed record only shows as a late scheduler, never loses work
      logger.warn({ err: { message: (err as Error).message }, name }, "background run not recorded");
      return;
    }
  }
}
