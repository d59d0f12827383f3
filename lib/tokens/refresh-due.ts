// The background work, shared by POST /api/cron/refresh and the embedded server's timer: page
// through connections that are due (access token expiring within the window, refresh token nearing
// its end, keep-alive, app-only interval — all folded into nextRefreshAt), refresh them with bounded
// concurrency under leases, announce refresh tokens about to lapse, deliver webhooks.
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { refreshConnection, PROCESS_ID } from "@/lib/tokens/refresh-connection";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { deliverWebhooks } from "@/lib/webhooks/deliver-webhooks";

export type RefreshSummary = { due: number; claimed: number; refreshed: number; skipped: number; busy: number; failed: Record<string, number>; warned: number; webhooks: { attempted: number; delivered: number; failed: number }; ms: number };

export async function refreshDue({ db, batchSize = 200, concurrency = 8, maxBatches = 50, owner = PROCESS_ID, now = () => new Date() }: { db: Db; batchSize?: number; concurrency?: number; maxBatches?: number; owner?: string; now?: () => Date }): Promise<RefreshSummary> {
  const started = Date.now();
  const s: RefreshSummary = { due: 0, claimed: 0, refreshed: 0, skipped: 0, busy: 0, failed: {}, warned: 0, webhooks: { attempted: 0, delivered: 0, failed: 0 }, ms: 0 };
  const seen = new Set<string>();
  // Keyset paging on (nextRefreshAt, id), plus `seen` in memory: a connection that is due again at once
  // (a token shorter than the refresh window) is not refreshed twice in one run. (An id NOT IN list of
  // every row seen broke past 999 rows on SQLite: too many query parameters.)
  let after: { nextRefreshAt: Date; id: string } | null = null;
  for (let batch = 0; batch < maxBatches; batch++) {
    const at = now();
    const page: Array<{ id: string; nextRefreshAt: Date | null }> = await db.connection.findMany({
      where: {
        status: { in: ["active", "error"] },
        nextRefreshAt: { lte: at },
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: at } }],
        ...(after ? { AND: [{ OR: [{ nextRefreshAt: { gt: after.nextRefreshAt } }, { nextRefreshAt: after.nextRefreshAt, id: { gt: after.id } }] }] } : {}),
      },
      select: { id: true, nextRefreshAt: true },
      orderBy: [{ nextRefreshAt: "asc" }, { id: "asc" }],
      take: batchSize,
    });
    if (page.length === 0) break;
    const last = page[page.length - 1]!;
    after = { nextRefreshAt: last.nextRefreshAt!, id: last.id };
    const rows = page.filter((r) => !seen.has(r.id));
    s.due += rows.length;
    let i = 0;
    const worker = async () => {
      while (i < rows.length) {
        const { id } = rows[i++]!;
        seen.add(id);
        // onlyIfDue: another scheduler that listed the same row may have refreshed it since (or failed and backed off)
        const r = await refreshConnection({ db, connectionId: id, reason: "scheduled", owner, now, onlyIfDue: true });
        if (r.result === "busy") s.busy++;
        else {
          s.claimed++;
          if (r.result === "refreshed" || r.result === "already_fresh") s.refreshed++;
          else if (r.result === "skipped") s.skipped++;
          else s.failed[r.failureClass] = (s.failed[r.failureClass] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  }
  s.warned = await warnExpiringRefreshTokens({ db, now: now() });
  s.webhooks = await deliverWebhooks({ db, now });
  s.ms = Date.now() - started;
  return s;
}

/** connection.refresh_token_expiring, once per refresh token, N days before it lapses. */
export async function warnExpiringRefreshTokens({ db, now }: { db: Db; now: Date }): Promise<number> {
  const horizon = new Date(now.getTime() + env().expiryWarningDays * 86400_000);
  const rows = await db.connection.findMany({
    where: { status: { in: ["active", "error"] }, refreshTokenExpiresAt: { lte: horizon, gt: now }, refreshTokenWarnedAt: null },
    select: { id: true, organizationId: true, refreshTokenExpiresAt: true },
    take: 500,
  });
  let warned = 0;
  for (const r of rows) {
    const { count } = await db.connection.updateMany({ where: { id: r.id, refreshTokenWarnedAt: null }, data: { refreshTokenWarnedAt: now } });
    if (count !== 1) continue;
    await emitConnectionEvent({ db, organizationId: r.organizationId, connectionId: r.id, type: "connection.refresh_token_expiring", data: { refresh_token_expires_at: r.refreshTokenExpiresAt!.toISOString() } });
    warned++;
  }
  return warned;
}
