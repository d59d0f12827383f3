// What the background work has left undone, across every instance and organization, from the rows
// themselves: the refresh scheduler's last recorded run, connections due for refresh that nobody holds,
// webhook deliveries due and not sent. Counts and times only: /api/health shows them unauthenticated.
// Cheap indexed queries, cached for a few seconds per process (health checks, scrapes and pages share them).
import type { Db } from "@/lib/db/client";

export type TBackgroundStatus = {
  at: Date;
  scheduler: { lastRunAt: Date | null; lastRun: Record<string, unknown> | null };
  /** connections due (nextRefreshAt passed, active or in error) and not leased by a worker */
  refresh: { due: number; oldestDueAt: Date | null };
  /** pending: every delivery still to be sent (retries in backoff included); due: those whose time has come */
  webhooks: { pending: number; due: number; oldestDueAt: Date | null };
};

export async function readBackgroundStatus({
  db,
  now = new Date(),
}: {
  db: Db;
  now?: Date;
}): Promise<TBackgroundStatus> {
  const [run, refresh, pending, due] = await Promise.all([
    db.backgroundRun.findUnique({ where: { name: "refresh" } }),
    db.connection.aggregate({
      where: {
        status: { in: ["active", "error"] },
        nextRefreshAt: { lte: now },
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }],
      },
      _count: { _all: true },
      _min: { nextRefreshAt: true },
    }),
    db.webhookDelivery.count({ where: { status: "pending" } }),
    db.webhookDelivery.aggregate({
      where: { status: "pending", nextAttemptAt: { lte: now } },
      _count: { _all: true },
      _min: { nextAttemptAt: true },
    }),
  ]);
  let lastRun: Record<string, unknown> | null = null;
  try {
    lastRun = run ? (JSON.parse(run.summary) as Record<string, unknown>) : null;
  } catch {
    lastRun = null;
  }
  return {
    at: now,
    scheduler: { lastRunAt: run?.finishedAt ?? null, lastRun },
    refresh: { due: refresh._count._all, oldestDueAt: refresh._min.nextRefreshAt ?? null },
    webhooks: { pending, due: due._count._all, oldestDueAt: due._min.nextAttemptAt ?? null },
  };
}

// on globalThis: the portal's pages and its /api/health are separate bundles of this file, and must agree
const g = globalThis as unknown as {
  __consentryBackgroundStatus?: WeakMap<Db, { at: number; value: Promise<TBackgroundStatus> }>;
};
const cache = (g.__consentryBackgroundStatus ??= new WeakMap());

/** The status at most `maxAgeMs` old; callers arriving together share one read. A failed read is not kept. */
export function readBackgroundStatusCached({ db, maxAgeMs = 5000 }: { db: Db; maxAgeMs?: number }) {
  const hit = cache.get(db);
  if (hit && Date.now() - hit.at < maxAgeMs) return hit.value;
  const value = readBackgroundStatus({ db });
  cache.set(db, { at: Date.now(), value });
  value.catch(() => {
    if (cache.get(db)?.value === value) cache.delete(db);
  });
  return value;
}
