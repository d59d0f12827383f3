// API calls are audited in batches: one insert per flush instead of one per request, so auditing
// every call costs the hot token endpoint almost nothing. Flushed every 250 ms, at 500 rows and on exit.
import { randomUUID } from "node:crypto";
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import { hotQueries, type AuditInsertRow } from "@/lib/db/hot-queries";
import { auditValues, type AuditInput } from "@/lib/audit/record-audit-event";

/**
 * A UUIDv7 (RFC 9562): the creation time in milliseconds, then random bits. Ids in time order make
 * each insert an append at the end of the primary-key index instead of a write at a random page
 * (measured on SQLite: 6 µs a row instead of 16–22 µs with random UUIDs).
 */
export function timeOrderedId(at: Date) {
  const ts = at.getTime().toString(16).padStart(12, "0");
  const r = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: 122 random bits, variant already set
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${r.slice(15, 18)}-${r.slice(19)}`;
}

type AuditBuffer = { rows: Map<Db, AuditInsertRow[]>; count: number; timer: NodeJS.Timeout | null };
// on globalThis: the production server's fast path and Next's bundle of lib/ share one buffer
const g = globalThis as unknown as { __consentryAuditBuffer?: AuditBuffer };
const buf = (g.__consentryAuditBuffer ??= { rows: new Map(), count: 0, timer: null });

/**
 * Writes every buffered row, each to the database it was recorded against, with one prepared
 * statement per batch (lib/db/hot-queries.ts; not createMany, which with the JS query engine costs
 * ~0.4 ms of CPU a row — as much as the request being audited). Resolves once committed.
 */
export async function flushAuditBuffer() {
  if (buf.timer) clearTimeout(buf.timer);
  buf.timer = null;
  const batches = [...buf.rows];
  buf.rows.clear();
  buf.count = 0;
  await Promise.all(
    batches.map(async ([db, rows]) => {
      try {
        await hotQueries(db).insertAudit(rows);
      } catch (err) {
        logger.error({ err: { message: (err as Error).message }, lost: rows.length }, "audit batch not recorded");
      }
    }),
  );
}

export function bufferAuditEvent(db: Db, input: AuditInput & { requestId?: string }) {
  const createdAt = new Date();
  const row: AuditInsertRow = [timeOrderedId(createdAt), ...auditValues(input, input.requestId), createdAt];
  let rows = buf.rows.get(db);
  if (!rows) buf.rows.set(db, (rows = []));
  rows.push(row);
  if (++buf.count >= 500) void flushAuditBuffer();
  else if (!buf.timer) {
    buf.timer = setTimeout(() => void flushAuditBuffer(), 250);
    buf.timer.unref();
  }
}
