// The background work, shared by POST /api/cron/refresh and the server's timer: page through
// connections that are due (access token expiring within the window, refresh token nearing its end,
// keep-alive, app-only interval — all folded into nextRefreshAt), claiming a page at a time under
// leases with one statement (lib/tokens/refresh-batch.ts: workers never collide on a row), refresh
// them with bounded concurrency, commit their answers in batches, announce refresh tokens about to
// lapse, and record the run where every instance can see it (lib/background). Webhooks have their
// own loop (lib/webhooks/run-webhook-delivery.ts).
//
// One slow or hanging provider cannot stall the rest: each token-endpoint host has its own budget of
// slots (its rows wait in their own queue, never in front of other hosts' rows), scheduled refreshes
// have a tighter deadline than interactive ones, a host that runs into that deadline is left for the
// next run (its claimed rows released), and the next page is claimed while earlier refreshes are
// still in flight. Once shutdown begins, nothing more is claimed and what waits is released.
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { hostOverridesFromMetadata, refreshTokenUrl } from "@/lib/providers/resolve-url";
import {
  refreshClaimed,
  PROCESS_ID,
  SCHEDULED_DEADLINE_MS,
  type RefreshIo,
  type RefreshOutcome,
} from "@/lib/tokens/refresh-connection";
import {
  claimDueRows,
  commitGroup,
  keysetAfter,
  releaseGroup,
  type ClaimedRow,
  type Keyset,
} from "@/lib/tokens/refresh-batch";
import { LEASE_MS } from "@/lib/tokens/lease";
import { getAppCredentials, type AppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
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

/** The host a connection's refresh goes to (its budget key); a connection whose URL cannot be built counts under its provider. */
export function refreshHostOf(row: Pick<ClaimedRow, "providerId" | "settings" | "metadata">): string {
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

type Claimed = { row: ClaimedRow; claimedAt: number };

export async function refreshDue({
  db,
  batchSize = 200,
  concurrency = env().refreshConcurrency,
  hostConcurrency = env().refreshHostConcurrency,
  maxBatches = 50,
  owner = PROCESS_ID,
  now = () => new Date(),
  deadlineMs = SCHEDULED_DEADLINE_MS,
  latencies,
}: {
  db: Db;
  batchSize?: number;
  concurrency?: number;
  hostConcurrency?: number;
  maxBatches?: number;
  owner?: string;
  now?: () => Date;
  deadlineMs?: number;
  /** benchmarks: each refreshed row's time from its claim to its commit (ms) is pushed here */
  latencies?: number[];
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
  // grouped database work for the whole run: app credentials once per app, commits and releases in batches
  const apps = new Map<string, Promise<AppCredentials>>();
  const release = releaseGroup(db, owner);
  const commit = commitGroup(db);
  // A row's slot (run and host) is freed once its answer is in and waits for its batch to be written:
  // the slots bound the requests in flight at the providers, not the commits waiting for company. Only
  // while the database takes batches, though: until this run's first batch is written, and after one
  // is refused, a slot is held until its commit settles; a refused batch (its commits held and retried,
  // lib/tokens/pending-commits.ts) ends the run's sending, so that no more refresh tokens are spent
  // while their answers could not be stored.
  // (its entries are the rows holding a slot: its size is what the run has in flight)
  const freeSlot = new Map<string, () => void>();
  let writesOk = false;
  let databaseAway = false;
  const io: RefreshIo = {
    appCredentials: (appId, organizationId) => {
      const key = `${appId} ${organizationId}`;
      let app = apps.get(key);
      if (!app) apps.set(key, (app = getAppCredentials({ db, appId, organizationId })));
      return app;
    },
    write: async (m) => {
      if (writesOk) freeSlot.get(m.connectionId)?.();
      try {
        const r = await commit(m);
        writesOk = true;
        return r;
      } catch (err) {
        writesOk = false;
        databaseAway = true;
        throw err;
      }
    },
    release,
    bufferedAudit: true,
  };
  const finishing = new Set<Promise<void>>();
  // Claimed rows wait in a queue per host until that host has a free slot (and the run a free one). A
  // host whose refresh ran into the deadline is stalled for the rest of the run: its waiting rows are
  // released, left due for the next run instead of waiting out one deadline after another.
  const queues = new Map<string, Claimed[]>();
  const stalled = new Set<string>();
  const leftOver: string[] = [];
  let queued = 0;
  let wake: (() => void) | null = null;
  const start = ({ row, claimedAt }: Claimed, host: string) => {
    const free = () => {
      if (!freeSlot.delete(row.id)) return;
      releaseHost(host);
      dispatch();
    };
    freeSlot.set(row.id, free);
    const work: Promise<void> = refreshClaimed(row, { db, owner, now, deadlineMs, claimedAt, io })
      .then(
        (r) => {
          count(r);
          if (latencies && r.result === "refreshed") latencies.push(Date.now() - claimedAt);
          if (r.result === "failed" && r.errorCode === "timeout") stalled.add(host);
        },
        () => void (s.failed.local_error = (s.failed.local_error ?? 0) + 1),
      )
      .finally(() => {
        free();
        finishing.delete(work);
      });
    finishing.add(work);
  };
  const dispatch = () => {
    for (const [host, q] of queues) {
      if (stalled.has(host) || refreshShuttingDown() || databaseAway) {
        s.deferred += q.length;
        queued -= q.length;
        for (const c of q) leftOver.push(c.row.id);
        queues.delete(host);
        continue;
      }
      while (q.length > 0 && freeSlot.size < concurrency && tryAcquireHost(host, hostConcurrency)) {
        start(q.shift()!, host);
        queued--;
      }
      if (q.length === 0) queues.delete(host);
    }
    if (leftOver.length > 0) releaseLeftOver();
    wake?.();
    wake = null;
  };
  const releaseLeftOver = () => {
    for (const id of leftOver.splice(0)) {
      // not released (the database is away): the lease runs out by itself
      const released: Promise<void> = release(id)
        .catch(() => undefined)
        .finally(() => finishing.delete(released));
      finishing.add(released);
    }
  };
  const progress = () => new Promise<void>((r) => ((wake = r), setTimeout(r, 100)));
  // Keyset paging on (nextRefreshAt, id), plus `seen` in memory: a connection that is due again at once
  // (a token shorter than the refresh window) is not refreshed twice in one run.
  const seen = new Set<string>();
  let after: Keyset | null = null;
  for (let batch = 0; batch < maxBatches && !refreshShuttingDown() && !databaseAway; batch++) {
    const page = await claimDueRows({ db, owner, now: now(), ttlMs: LEASE_MS, limit: batchSize, after });
    if (page.length === 0) break;
    const claimedAt = Date.now();
    after = keysetAfter(page, after);
    for (const row of page) {
      if (seen.has(row.id)) {
        leftOver.push(row.id);
        continue;
      }
      seen.add(row.id);
      s.due++;
      const host = refreshHostOf(row);
      if (stalled.has(host)) {
        s.deferred++;
        leftOver.push(row.id);
        continue;
      }
      const q = queues.get(host) ?? [];
      q.push({ row, claimedAt });
      queues.set(host, q);
      queued++;
    }
    dispatch();
    // the next page is claimed while this one is still being refreshed, once most of it has started
    while (queued >= batchSize && !refreshShuttingDown() && !databaseAway) await progress();
  }
  // the rest: hosts whose slots another run holds are polled (no completion of ours would wake us)
  while (queued > 0 || freeSlot.size > 0) {
    dispatch();
    await progress();
  }
  releaseLeftOver();
  await Promise.all([...finishing]);
  // the run's audit rows are in the database when it returns
  await flushAuditBuffer();
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
