// The background work, shared by POST /api/cron/refresh and the server's timer: page through
// connections that are due (access token expiring within the window, refresh token nearing its end,
// keep-alive, app-only interval — all folded into nextRefreshAt), refresh them with bounded
// concurrency under leases, announce refresh tokens about to lapse, and record the run where every
// instance can see it (lib/background). Webhooks have their own loop (lib/webhooks/run-webhook-delivery.ts).
//
// One slow or hanging provider cannot stall the rest: each token-endpoint host has its own budget of
// slots (its rows wait in their own queue, never in front of other hosts' rows), scheduled refreshes
// have a tighter deadline than interactive ones, a host that runs into that deadline is left for the
// next run, and the next page is read while earlier refreshes are still in flight. Once shutdown
// begins, nothing more is claimed.
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { hostOverridesFromMetadata, refreshTokenUrl } from "@/lib/providers/resolve-url";
import {
  refreshConnection,
  PROCESS_ID,
  SCHEDULED_DEADLINE_MS,
  type RefreshOutcome,
} from "@/lib/tokens/refresh-connection";
import { refreshShuttingDown } from "@/lib/tokens/refresh-drain";
import { releaseHost, tryAcquireHost } from "@/lib/tokens/host-budget";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { recordBackgroundRun } from "@/lib/background/record-background-run";

export type RefreshSummary = {
  due: number;
  claimed: number;
  refreshed: number;
  skipped: number;
  busy: number;
  /** due rows left for the next run because their host ran into the deadline (a hanging provider), or shutdown began */
  deferred: number;
  failed: Record<string, number>;
  warned: number;
  ms: number;
};

type DueRow = { id: string; nextRefreshAt: Date | null; providerId: string; settings: string; metadata: string };

/** The host a connection's refresh goes to (its budget key); a connection whose URL cannot be built counts under its provider. */
export function refreshHostOf(row: Pick<DueRow, "providerId" | "settings" | "metadata">): string {
  const provider = PROVIDERS.get(row.providerId);
  try {
    if (!provider) throw new Error("unknown provider");
    const settings = JSON.parse(row.settings) as Record<string, unknown>;
    const metadata = JSON.parse(row.metadata) as Record<string, string>;
    return new URL(
      refreshTokenUrl(provider, { settings, metadata, hostOverrides: hostOverridesFromMetadata(metadata) }),
    ).host;
  } catch {
    return `provider:${row.providerId}`;
  }
}

export async function refreshDue({
  db,
  batchSize = 200,
  concurrency = env().refreshConcurrency,
  hostConcurrency = env().refreshHostConcurrency,
  maxBatches = 50,
  owner = PROCESS_ID,
  now = () => new Date(),
  deadlineMs = SCHEDULED_DEADLINE_MS,
}: {
  db: Db;
  batchSize?: number;
  concurrency?: number;
  hostConcurrency?: number;
  maxBatches?: number;
  owner?: string;
  now?: () => Date;
  deadlineMs?: number;
}): Promise<RefreshSummary> {
  const started = Date.now();
  const s: RefreshSummary = {
    due: 0,
    claimed: 0,
    refreshed: 0,
    skipped: 0,
    busy: 0,
    deferred: 0,
    failed: {},
    warned: 0,
    ms: 0,
  };
  const count = (r: RefreshOutcome) => {
    if (r.result === "busy") return void s.busy++;
    s.claimed++;
    if (r.result === "refreshed" || r.result === "already_fresh") s.refreshed++;
    else if (r.result === "skipped") s.skipped++;
    else s.failed[r.failureClass] = (s.failed[r.failureClass] ?? 0) + 1;
  };
  const running = new Set<Promise<void>>();
  // Rows wait in a queue per host until that host has a free slot (and the run a free one). A host
  // whose refresh ran into the deadline is stalled for the rest of the run: its waiting rows are
  // left due for the next run instead of waiting out one deadline after another.
  const queues = new Map<string, DueRow[]>();
  const stalled = new Set<string>();
  let queued = 0;
  let wake: (() => void) | null = null;
  const start = (row: DueRow, host: string) => {
    // onlyIfDue: another scheduler that listed the same row may have refreshed it since (or failed and backed off)
    const work: Promise<void> = refreshConnection({
      db,
      connectionId: row.id,
      reason: "scheduled",
      owner,
      now,
      onlyIfDue: true,
      deadlineMs,
    })
      .then(
        (r) => {
          count(r);
          if (r.result === "failed" && r.errorCode === "timeout") stalled.add(host);
        },
        () => void (s.failed.local_error = (s.failed.local_error ?? 0) + 1),
      )
      .finally(() => {
        releaseHost(host);
        running.delete(work);
        dispatch();
      });
    running.add(work);
  };
  const dispatch = () => {
    for (const [host, q] of queues) {
      if (stalled.has(host) || refreshShuttingDown()) {
        s.deferred += q.length;
        queued -= q.length;
        queues.delete(host);
        continue;
      }
      while (q.length > 0 && running.size < concurrency && tryAcquireHost(host, hostConcurrency)) {
        start(q.shift()!, host);
        queued--;
      }
      if (q.length === 0) queues.delete(host);
    }
    wake?.();
    wake = null;
  };
  const progress = () => new Promise<void>((r) => ((wake = r), setTimeout(r, 100)));
  const seen = new Set<string>();
  // Keyset paging on (nextRefreshAt, id), plus `seen` in memory: a connection that is due again at once
  // (a token shorter than the refresh window) is not refreshed twice in one run. (An id NOT IN list of
  // every row seen broke past 999 rows on SQLite: too many query parameters.)
  let after: { nextRefreshAt: Date; id: string } | null = null;
  for (let batch = 0; batch < maxBatches && !refreshShuttingDown(); batch++) {
    const at = now();
    const page: DueRow[] = await db.connection.findMany({
      where: {
        status: { in: ["active", "error"] },
        nextRefreshAt: { lte: at },
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: at } }],
        ...(after
          ? {
              AND: [
                {
                  OR: [
                    { nextRefreshAt: { gt: after.nextRefreshAt } },
                    { nextRefreshAt: after.nextRefreshAt, id: { gt: after.id } },
                  ],
                },
              ],
            }
          : {}),
      },
      select: { id: true, nextRefreshAt: true, providerId: true, settings: true, metadata: true },
      orderBy: [{ nextRefreshAt: "asc" }, { id: "asc" }],
      take: batchSize,
    });
    if (page.length === 0) break;
    const last = page[page.length - 1]!;
    after = { nextRefreshAt: last.nextRefreshAt!, id: last.id };
    for (const row of page) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      s.due++;
      const host = refreshHostOf(row);
      if (stalled.has(host)) {
        s.deferred++;
        continue;
      }
      const q = queues.get(host) ?? [];
      q.push(row);
      queues.set(host, q);
      queued++;
    }
    dispatch();
    // the next page is read while this one is still being refreshed, once most of it has started
    while (queued >= batchSize && !refreshShuttingDown()) await progress();
  }
  // the rest: hosts whose slots another run holds are polled (no completion of ours would wake us)
  while (queued > 0 || running.size > 0) {
    dispatch();
    await progress();
  }
  s.warned = await warnExpiringRefreshTokens({ db, now: now() });
  s.ms = Date.now() - started;
  await recordBackgroundRun({ db, name: "refresh", summary: s });
  return s;
}

/** connection.refresh_token_expiring, once per refresh token, N days before it lapses. */
export async function warnExpiringRefreshTokens({ db, now }: { db: Db; now: Date }): Promise<number> {
  const horizon = new Date(now.getTime() + env().expiryWarningDays * 86400_000);
  const rows = await db.connection.findMany({
    where: {
      status: { in: ["active", "error"] },
      refreshTokenExpiresAt: { lte: horizon, gt: now },
      refreshTokenWarnedAt: null,
    },
    select: { id: true, organizationId: true, refreshTokenExpiresAt: true },
    take: 500,
  });
  let warned = 0;
  for (const r of rows) {
    const { count } = await db.connection.updateMany({
      where: { id: r.id, refreshTokenWarnedAt: null },
      data: { refreshTokenWarnedAt: now },
    });
    if (count !== 1) continue;
    await emitConnectionEvent({
      db,
      organizationId: r.organizationId,
      connectionId: r.id,
      type: "connection.refresh_token_expiring",
      data: { refresh_token_expires_at: r.refreshTokenExpiresAt!.toISOString() },
    });
    warned++;
  }
  return warned;
}
