// API calls are audited in batches: one insert per flush instead of one per request, so auditing
// every call costs the hot token endpoint almost nothing. Flushed every 250 ms and on exit.
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import { auditRow, type AuditInput } from "@/lib/audit/record-audit-event";

type Row = ReturnType<typeof auditRow> & { createdAt: Date };

const g = globalThis as unknown as { __consentryAuditBuffer?: { rows: Row[]; timer: NodeJS.Timeout | null; db: Db | null } };
const buf = (g.__consentryAuditBuffer ??= { rows: [], timer: null, db: null });

export async function flushAuditBuffer() {
  if (buf.timer) clearTimeout(buf.timer);
  buf.timer = null;
  const rows = buf.rows.splice(0, buf.rows.length);
  if (rows.length === 0 || !buf.db) return;
  try {
    await buf.db.auditEvent.createMany({ data: rows });
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
