// The audit log, newest first, filtered and paged by keyset cursors (createdAt, id): a page never
// repeats or skips a row when events arrive in between, in either direction.
//
// Filters ignore case and surrounding spaces on both databases without a case-insensitive column:
// action codes and target ids are lower case, so the input is lower-cased and matched against the
// known codes (and their names in the reader's language); labels and names use `contains`, which is
// LIKE on SQLite (case-insensitive for ASCII) and ILIKE (`mode: "insensitive"`) on PostgreSQL.
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import type { Prisma } from "@/lib/generated/prisma-sqlite/client";
import { databaseUrlOf } from "@/lib/db/hot-queries";
import { ACTOR_LABEL_KEYS, AUDIT_ACTIONS, AUDIT_ACTOR_TYPES, AUDIT_TARGET_TYPES } from "@/lib/audit/audit-actions";

/** A text filter: trimmed, empty means none, too long is ignored rather than failing the whole query. */
const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((v) => v || undefined)
    .catch(undefined);
const day = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)))
  .optional()
  .catch(undefined);

export const ZAuditQuery = z.object({
  /** older than this row (the "Older events" link) */
  cursor: text(120),
  /** newer than this row (the "Newer events" link) */
  before: text(120),
  action: text(100),
  actor: text(200),
  target: text(200),
  /** first and last day, inclusive (UTC, as the log shows times) */
  from: day,
  to: day,
  limit: z.coerce.number().int().min(1).max(200).default(50).catch(50),
});
export type TAuditQuery = z.infer<typeof ZAuditQuery>;
export type TAuditFilters = Partial<Pick<TAuditQuery, "action" | "actor" | "target" | "from" | "to">>;

/** Names in the reader's language, so that "トークン更新" finds connection.refreshed too. All optional. */
export type TAuditNames = {
  actions?: Record<string, string>;
  actorTypes?: Record<string, string>;
  /** keyed by the stored label (ACTOR_LABEL_KEYS' keys) */
  actorLabels?: Record<string, string>;
  targetTypes?: Record<string, string>;
};

type Where = Prisma.AuditEventWhereInput;

/** Lower case, separators (. _ - and spaces) as one space: "Connection Refreshed" finds connection.refreshed. */
export function foldText(s: string) {
  return s
    .trim()
    .toLowerCase()
    .replace(/[\s._-]+/g, " ");
}

const matching = (candidates: readonly string[], q: string, names?: Record<string, string>) =>
  candidates.filter((c) => foldText(c).includes(q) || (names?.[c] !== undefined && foldText(names[c]).includes(q)));

/** `contains`, ignoring case on both engines (see the file's head). */
function containsIgnoringCase(db: Db, value: string): Prisma.StringNullableFilter {
  const pg = !databaseUrlOf(db).startsWith("file:");
  return (pg ? { contains: value, mode: "insensitive" } : { contains: value }) as Prisma.StringNullableFilter;
}

/** A cursor: the row's creation time in ms and its id. */
export function auditCursor(row: { createdAt: Date; id: string }) {
  return `${row.createdAt.getTime()}_${row.id}`;
}

function parseCursor(cursor: string): { at: Date; id: string } | null {
  const m = /^(\d{1,15})_(.{1,100})$/.exec(cursor);
  return m ? { at: new Date(Number(m[1])), id: m[2]! } : null;
}

const olderThan = (c: { at: Date; id: string }): Where => ({
  OR: [{ createdAt: { lt: c.at } }, { createdAt: c.at, id: { lt: c.id } }],
});
const newerThan = (c: { at: Date; id: string }): Where => ({
  OR: [{ createdAt: { gt: c.at } }, { createdAt: c.at, id: { gt: c.id } }],
});

/** The filters of a query as a Prisma where (the keyset cursor is added by the caller). */
export async function auditFilterWhere({
  db,
  organizationId,
  query,
  names = {},
}: {
  db: Db;
  organizationId: string | null;
  query: TAuditFilters;
  names?: TAuditNames;
}): Promise<Where> {
  const and: Where[] = [{ organizationId }];
  if (query.action) {
    const raw = query.action.trim().toLowerCase();
    const codes = matching(AUDIT_ACTIONS, foldText(query.action), names.actions);
    // a code this version does not know (recorded by an older one) is still found by its start
    and.push({ OR: [{ action: { in: codes } }, { action: { startsWith: raw } }] });
  }
  if (query.actor) {
    const q = query.actor.trim();
    const folded = foldText(q);
    and.push({
      OR: [
        { actorLabel: containsIgnoringCase(db, q) },
        { actorId: q },
        { actorType: { in: matching(AUDIT_ACTOR_TYPES, folded, names.actorTypes) } },
        { actorLabel: { in: matching(Object.keys(ACTOR_LABEL_KEYS), folded, names.actorLabels) } },
      ],
    });
  }
  if (query.target) {
    const q = query.target.trim();
    const lower = q.toLowerCase();
    const or: Where[] = [
      { targetId: { in: [...new Set([q, lower])] } },
      { targetType: { in: matching(AUDIT_TARGET_TYPES, foldText(q), names.targetTypes) } },
    ];
    // the start of an id (ids are lower case), as a reader copies it from a shortened one
    if (lower.length >= 4) or.push({ targetId: { startsWith: lower } });
    if (organizationId) {
      const ids = await targetIdsByName(db, organizationId, q);
      if (ids.length) or.push({ targetId: { in: ids } });
    }
    and.push({ OR: or });
  }
  if (query.from) and.push({ createdAt: { gte: new Date(`${query.from}T00:00:00Z`) } });
  if (query.to) and.push({ createdAt: { lt: new Date(Date.parse(`${query.to}T00:00:00Z`) + 86400_000) } });
  return { AND: and };
}

/** The organization's connections, apps, keys and webhooks whose name (a webhook: its URL) contains the text. */
async function targetIdsByName(db: Db, organizationId: string, q: string): Promise<string[]> {
  const c = containsIgnoringCase(db, q) as Prisma.StringFilter;
  const take = 200;
  const rows = await Promise.all([
    db.connection.findMany({ where: { organizationId, name: c }, select: { id: true }, take }),
    db.oAuthApp.findMany({ where: { organizationId, name: c }, select: { id: true }, take }),
    db.apiKey.findMany({ where: { organizationId, name: c }, select: { id: true }, take }),
    db.webhookEndpoint.findMany({ where: { organizationId, url: c }, select: { id: true }, take }),
  ]);
  return rows.flat().map((r) => r.id);
}

/**
 * One page of the audit log, newest first. `organizationId: null` lists installation-wide events
 * (staff only). `nextCursor` pages to older events, `prevCursor` back to newer ones; each is null
 * when there is nothing that way.
 */
export async function listAuditEvents({
  db,
  organizationId,
  query,
  names,
}: {
  db: Db;
  organizationId: string | null;
  query: Partial<TAuditQuery> & { limit: number };
  names?: TAuditNames;
}) {
  const filters = await auditFilterWhere({ db, organizationId, query, names });
  const before = query.before ? await resolveCursor(db, query.before) : null;
  const after = !before && query.cursor ? await resolveCursor(db, query.cursor) : null;
  const limit = query.limit;
  let events;
  let moreOlder = false;
  let moreNewer = false;
  if (before) {
    // newer events: read upwards from the cursor, then show them newest first
    const rows = await db.auditEvent.findMany({
      where: { AND: [filters, newerThan(before)] },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: limit + 1,
    });
    moreNewer = rows.length > limit;
    events = rows.slice(0, limit).reverse();
    moreOlder = true;
  } else {
    const rows = await db.auditEvent.findMany({
      where: after ? { AND: [filters, olderThan(after)] } : filters,
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
    });
    moreOlder = rows.length > limit;
    events = rows.slice(0, limit);
    moreNewer = Boolean(after);
  }
  // the way back: one look beyond the page's first (or last) row, so that a link never leads to an empty page
  const first = events[0];
  const last = events.at(-1);
  if (moreNewer && first && !before)
    moreNewer = Boolean(
      await db.auditEvent.findFirst({ where: { AND: [filters, newerThan(key(first))] }, select: { id: true } }),
    );
  if (moreOlder && last && before)
    moreOlder = Boolean(
      await db.auditEvent.findFirst({ where: { AND: [filters, olderThan(key(last))] }, select: { id: true } }),
    );
  return {
    events,
    nextCursor: moreOlder && last ? auditCursor(last) : null,
    prevCursor: moreNewer && first ? auditCursor(first) : null,
  };
}

const key = (row: { createdAt: Date; id: string }) => ({ at: row.createdAt, id: row.id });

/** A cursor, or (as older versions wrote them) a bare event id. */
async function resolveCursor(db: Db, cursor: string) {
  const parsed = parseCursor(cursor);
  if (parsed) return parsed;
  const row = await db.auditEvent.findUnique({ where: { id: cursor }, select: { id: true, createdAt: true } });
  return row ? key(row) : null;
}
