// The overview's pictures of health, from data that exists (no table of its own):
// - refreshes per hour and per day: every refresh writes one audit row, `connection.refreshed` or
//   `connection.refresh_failed` (details.failureClass), by the scheduler, the API's on-demand
//   refresh and "Refresh now" alike (lib/tokens/refresh-connection.ts). Counted in SQL per bucket.
// - connections by status per day: replayed from the audit rows that change a status (below).
// - refresh tokens lapsing soon: Connection.refreshTokenExpiresAt.
// Buckets are UTC hours and days, as the portal shows times in UTC.
import type { Db } from "@/lib/db/client";
import { databaseUrlOf } from "@/lib/db/hot-queries";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { MAX_QUICK_ATTEMPTS } from "@/lib/tokens/next-refresh-at";

export const REFRESH_FAILURE_CLASSES = [
  "needs_reconsent",
  "consent_missing",
  "app_misconfigured",
  "clock_skew",
  "retryable",
  "invalid_response",
] as const;
export const CONNECTION_STATUSES = ["active", "pending_consent", "needs_reconsent", "error", "revoked"] as const;
type TStatus = (typeof CONNECTION_STATUSES)[number];

const HOUR = 3600_000;
const DAY = 86400_000;

export type TRefreshBucket = {
  start: Date;
  success: number;
  /** failures per failure class; a class this version does not know counts as "other" */
  failed: Record<string, number>;
};

/** The start of the UTC hour or day `t` is in. */
function floorTo(t: Date, unit: "hour" | "day") {
  const ms = unit === "hour" ? HOUR : DAY;
  return new Date(Math.floor(t.getTime() / ms) * ms);
}

/** How a bucket is named in SQL on both engines: "YYYY-MM-DDTHH" (hours) or "YYYY-MM-DD" (days). */
const bucketName = (t: Date, unit: "hour" | "day") => t.toISOString().slice(0, unit === "hour" ? 13 : 10);

/**
 * Refreshes of the organization's connections per UTC hour (the last `count` hours, the current one
 * included) or day, successes and failures by class.
 */
export async function refreshSeries({
  db,
  organizationId,
  unit,
  count,
  now = new Date(),
}: {
  db: Db;
  organizationId: string;
  unit: "hour" | "day";
  count: number;
  now?: Date;
}): Promise<TRefreshBucket[]> {
  const step = unit === "hour" ? HOUR : DAY;
  const first = new Date(floorTo(now, unit).getTime() - (count - 1) * step);
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: new Date(first.getTime() + i * step),
    success: 0,
    failed: {} as Record<string, number>,
  }));
  const byName = new Map(buckets.map((b) => [bucketName(b.start, unit), b]));
  // the window's start as stored text on SQLite ("…+00:00" sorts after it) and as a naive UTC timestamp on PostgreSQL
  const since = first.toISOString().slice(0, 23);
  const rows = databaseUrlOf(db).startsWith("file:")
    ? await db.$queryRawUnsafe<Array<{ b: string; a: string; c: string | null; n: number | bigint }>>(
        `SELECT substr("createdAt", 1, ${unit === "hour" ? 13 : 10}) AS b, "action" AS a,
           CASE WHEN "action" = 'connection.refresh_failed' AND json_valid("details")
             THEN json_extract("details", '$.failureClass') END AS c,
           COUNT(*) AS n
         FROM "AuditEvent"
         WHERE "organizationId" = ? AND "createdAt" >= ?
           AND "action" IN ('connection.refreshed', 'connection.refresh_failed')
         GROUP BY 1, 2, 3`,
        organizationId,
        since,
      )
    : await db.$queryRawUnsafe<Array<{ b: string; a: string; c: string | null; n: number | bigint }>>(
        `SELECT to_char("createdAt", '${unit === "hour" ? 'YYYY-MM-DD"T"HH24' : "YYYY-MM-DD"}') AS b, "action" AS a,
           CASE WHEN "action" = 'connection.refresh_failed'
             THEN substring("details" from '"failureClass":"([a-z_]+)"') END AS c,
           COUNT(*) AS n
         FROM "AuditEvent"
         WHERE "organizationId" = $1 AND "createdAt" >= $2::timestamp
           AND "action" IN ('connection.refreshed', 'connection.refresh_failed')
         GROUP BY 1, 2, 3`,
        organizationId,
        since,
      );
  for (const r of rows) {
    const b = byName.get(r.b);
    if (!b) continue; // a row from the future (clock change): not in any bucket shown
    const n = Number(r.n);
    if (r.a === "connection.refreshed") b.success += n;
    else {
      const c = (REFRESH_FAILURE_CLASSES as readonly string[]).includes(r.c ?? "") ? r.c! : "other";
      b.failed[c] = (b.failed[c] ?? 0) + n;
    }
  }
  return buckets;
}

export type TStatusPoint = { day: Date; counts: Record<TStatus, number> };

/** Audit actions that change a connection's status (connection.refreshed is read separately, see below). */
const STATUS_ACTIONS = [
  "connection.created",
  "connection.imported",
  "connection.updated",
  "connection.refresh_failed",
  "connection.revoked",
  "connection.purged",
  "consent.completed",
];

type StatusEvent = { targetId: string | null; action: string; outcome: string; details: string; createdAt: Date };
type Replay = { status: TStatus | null; failures: number };

function detailsOf(e: StatusEvent): Record<string, unknown> {
  try {
    return JSON.parse(e.details) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** A connection's status after one event (null: it no longer exists), as the code that audits it sets it. */
function apply(s: Replay, e: StatusEvent): Replay {
  if (e.outcome !== "success" && e.action !== "connection.refresh_failed") return s;
  const d = detailsOf(e);
  switch (e.action) {
    case "connection.created":
      return {
        status: PROVIDERS.get(String(d.provider))?.authKind === "api_key" ? "active" : "pending_consent",
        failures: 0,
      };
    case "connection.imported":
      return { status: d.status === "needs_reconsent" ? "needs_reconsent" : "active", failures: 0 };
    case "connection.updated":
      return d.reconsent ? { status: "pending_consent", failures: 0 } : s;
    case "consent.completed":
    case "connection.refreshed":
      return { status: "active", failures: 0 };
    case "connection.revoked":
      return { status: "revoked", failures: 0 };
    case "connection.purged":
      return { status: null, failures: 0 };
    case "connection.refresh_failed": {
      const cls = String(d.failureClass);
      if (cls === "needs_reconsent" || cls === "consent_missing") return { status: "needs_reconsent", failures: 0 };
      // retried with backoff; the status turns to error after MAX_QUICK_ATTEMPTS in a row (recordFailure)
      if (cls === "retryable" || cls === "invalid_response") {
        const failures = s.failures + 1;
        return { status: failures >= MAX_QUICK_ATTEMPTS ? "error" : s.status, failures };
      }
      return s; // app_misconfigured, clock_skew: an alert on the app, the status stays
    }
    default:
      return s;
  }
}

/**
 * The status the connection most likely had before the window's first event about it. The audit
 * does not record the status an event started from, so this is the usual one: a consent completes
 * a pending connection, a purge follows a disconnect, everything else happens to an active one.
 */
function priorOf(first: StatusEvent): TStatus | null {
  if (first.action === "connection.created" || first.action === "connection.imported") return null;
  if (first.action === "consent.completed") return "pending_consent";
  if (first.action === "connection.purged") return "revoked";
  return "active";
}

/**
 * Connections by status at the end of each of the last `days` UTC days (today: now).
 *
 * Method: today's counts are the connections table's. For earlier days each connection's status is
 * replayed from the audit rows that change it, within the window: the status after its last such
 * event by that day's end; before its first event, priorOf(); a connection without events in the
 * window keeps its current status throughout, one created in the window is not counted before it
 * was. Purged connections exist only in the audit and are replayed the same way. Successful
 * refreshes matter only after failures (error → active), so they are read for the connections that
 * failed in the window alone. An estimate where the audit is silent (see priorOf), exact otherwise.
 */
export async function connectionStatusSeries({
  db,
  organizationId,
  days,
  now = new Date(),
}: {
  db: Db;
  organizationId: string;
  days: number;
  now?: Date;
}): Promise<TStatusPoint[]> {
  const today = floorTo(now, "day");
  const windowStart = new Date(today.getTime() - (days - 1) * DAY);
  const [connections, events] = await Promise.all([
    db.connection.findMany({ where: { organizationId }, select: { id: true, status: true, createdAt: true } }),
    db.auditEvent.findMany({
      where: {
        organizationId,
        targetType: "connection",
        action: { in: STATUS_ACTIONS },
        createdAt: { gte: windowStart },
      },
      select: { targetId: true, action: true, outcome: true, details: true, createdAt: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    }),
  ]);
  const failed = [
    ...new Set(events.filter((e) => e.action === "connection.refresh_failed").map((e) => e.targetId!)),
  ].slice(0, 5000);
  const recoveries = failed.length
    ? await db.auditEvent.findMany({
        where: {
          organizationId,
          targetType: "connection",
          targetId: { in: failed },
          action: "connection.refreshed",
          createdAt: { gte: windowStart },
        },
        select: { targetId: true, action: true, outcome: true, details: true, createdAt: true },
      })
    : [];
  const perConnection = new Map<string, StatusEvent[]>();
  for (const e of [...events, ...recoveries]) {
    if (!e.targetId) continue;
    if (!perConnection.has(e.targetId)) perConnection.set(e.targetId, []);
    perConnection.get(e.targetId)!.push(e);
  }
  for (const list of perConnection.values()) list.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());

  const points: TStatusPoint[] = Array.from({ length: days }, (_, i) => ({
    day: new Date(windowStart.getTime() + i * DAY),
    counts: Object.fromEntries(CONNECTION_STATUSES.map((s) => [s, 0])) as Record<TStatus, number>,
  }));
  const count = (p: TStatusPoint, s: string | null) => {
    if (s && (CONNECTION_STATUSES as readonly string[]).includes(s)) p.counts[s as TStatus]++;
  };
  const current = new Map(connections.map((c) => [c.id, c]));
  for (const id of new Set([...current.keys(), ...perConnection.keys()])) {
    const c = current.get(id);
    const list = perConnection.get(id) ?? [];
    const createdInWindow = c ? c.createdAt >= windowStart : false;
    let state: Replay = {
      status: list.length ? (createdInWindow ? null : priorOf(list[0]!)) : ((c?.status as TStatus) ?? null),
      failures: 0,
    };
    let next = 0;
    for (let i = 0; i < days; i++) {
      const p = points[i]!;
      if (i === days - 1) {
        count(p, c ? c.status : null); // today: the table itself
        continue;
      }
      const end = p.day.getTime() + DAY;
      while (next < list.length && list[next]!.createdAt.getTime() < end) state = apply(state, list[next++]!);
      // created later in the window, before any event of it (a connection with no events in the window)
      if (!list.length && c && c.createdAt.getTime() >= end) continue;
      count(p, state.status);
    }
  }
  return points;
}

export type TLapseBucket = { from: Date; to: Date; count: number };

/**
 * Refresh tokens of working connections (active or error) that lapse within `days`, per week
 * (the last bucket holds the days left over). After that the data owner must consent again.
 */
export async function refreshTokenLapses({
  db,
  organizationId,
  days = 30,
  now = new Date(),
}: {
  db: Db;
  organizationId: string;
  days?: number;
  now?: Date;
}): Promise<{ total: number; buckets: TLapseBucket[] }> {
  const end = new Date(now.getTime() + days * DAY);
  const rows = await db.connection.findMany({
    where: { organizationId, status: { in: ["active", "error"] }, refreshTokenExpiresAt: { gt: now, lte: end } },
    select: { refreshTokenExpiresAt: true },
  });
  const weeks = Math.max(1, Math.floor(days / 7));
  const buckets: TLapseBucket[] = Array.from({ length: weeks }, (_, i) => ({
    from: new Date(now.getTime() + i * 7 * DAY),
    to: i === weeks - 1 ? end : new Date(now.getTime() + (i + 1) * 7 * DAY),
    count: 0,
  }));
  for (const r of rows) {
    const t = r.refreshTokenExpiresAt!.getTime();
    const b = buckets.find((x) => t <= x.to.getTime()) ?? buckets.at(-1)!;
    b.count++;
  }
  return { total: rows.length, buckets };
}
