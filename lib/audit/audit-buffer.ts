// API calls are audited in batches: one insert per flush instead of one per request, so auditing
// every call costs the hot token endpoint almost nothing. Flushed every 250 ms and on exit.
import { randomUUID } from "node:crypto";
import type { Db } from "@/lib/db/client";
import { Prisma } from "@/lib/generated/prisma-sqlite/client";
import { logger } from "@/lib/logger";
import { fastAuditWriter } from "@/lib/db/fast-reads";
import { auditRow, type AuditInput } from "@/lib/audit/record-audit-event";

type Row = ReturnType<typeof auditRow> & { createdAt: Date };

const COLUMNS = ["id", "organizationId", "actorType", "actorId", "actorLabel", "action", "targetType", "targetId", "outcome", "ip", "requestId", "details", "createdAt"] as const;
const COLUMN_LIST = Prisma.raw(COLUMNS.map((c) => `"${c}"`).join(", "));
/** rows per INSERT: 13 parameters each stays far below SQLite's (32,766) and PostgreSQL's (65,535) limits */
const CHUNK = 500;

/**
 * One multi-row INSERT per chunk. Not createMany: with the JS query engine it costs ~0.4 ms of CPU per
 * row (it plans every batch size anew) — as much as the token request being audited — and blocks the
 * event loop for ~200 ms per 500 rows; this costs a quarter of that. Prisma.sql renders the
 * placeholders for either engine and stores dates as Prisma does.
 */
async function insertRows(db: Db, rows: Row[]) {
  const fast = fastAuditWriter(db);
  if (fast) return fast.insertAudit(rows.map((r) => ({ id: randomUUID(), ...r })));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const values = rows.slice(i, i + CHUNK).map((r) => {
      const full: Record<(typeof COLUMNS)[number], unknown> = { id: randomUUID(), ...r };
      return Prisma.sql`(${Prisma.join(COLUMNS.map((c) => full[c]))})`;
    });
    await db.$executeRaw`INSERT INTO "AuditEvent" (${COLUMN_LIST}) VALUES ${Prisma.join(values)}`;
  }
}

const g = globalThis as unknown as { __consentryAuditBuffer?: { rows: Row[]; timer: NodeJS.Timeout | null; db: Db | null } };
const buf = (g.__consentryAuditBuffer ??= { rows: [], timer: null, db: null });

export async function flushAuditBuffer() {
  if (buf.timer) clearTimeout(buf.timer);
  buf.timer = null;
  const rows = buf.rows.splice(0, buf.rows.length);
  if (rows.length === 0 || !buf.db) return;
  try {
    await insertRows(buf.db, rows);
  } catch (err) {
    logger.error({ err: { message: (err as Error).message }, lost: rows.length }, "audit batch not recorded");
  }
}

export function bufferAuditEvent(db: Db, input: AuditInput & { requestId?: string }) {
  buf.db = db;
  buf.rows.push({ ...auditRow(input, input.requestId), createdAt: new Date() });
  if (buf.rows.length >= 500) void flushAuditBuffer();
  else if (!buf.timer) {
    buf.timer = setTimeout(() => void flushAuditBuffer(), 250);
    buf.timer.unref();
  }
}
