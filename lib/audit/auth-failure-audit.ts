// Failed API-key authentications (401) and the refusals of the lockout that follows them (429) are
// audited in aggregate: one `api.auth_failed` row per client address per interval
// (CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS), not one per request, so a flood of wrong keys cannot
// flood the audit trail (SECURITY 45). Nothing of the presented key is kept, not even its prefix.
// The rows go out through the API's audit buffer (lib/audit/audit-buffer.ts).
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";
import { auditValues } from "@/lib/audit/record-audit-event";
import { bufferAuditValues, flushAuditBuffer } from "@/lib/audit/audit-buffer";

/**
 * Client addresses tallied per interval, over all databases. Past it, failures from further
 * addresses still count, in one row without an address, so that many distinct addresses cannot
 * grow memory without limit and nothing goes uncounted.
 */
export const MAX_AUTH_FAILURE_CLIENTS = 10_000;

type Tally = { count: number; refused: number; lockouts: number; firstAt: number; lastAt: number };
type Pending = { clients: Map<string, Tally>; unattributed: Tally | null };
export type NoteAuthFailureInput = { db: Db; client: string; refused?: boolean; lockout?: boolean; now?: number };

const pending = new Map<Db, Pending>();
let tallied = 0;
let timer: NodeJS.Timeout | null = null;

/**
 * Tallies one denied request from `client` (lib/api-keys/auth-failure-limit.ts's key for its address):
 * a failed authentication, or with `refused` a request turned away by the lockout. `lockout`: this
 * failure is the one that started the lockout.
 */
export function noteAuthFailure({
  db,
  client,
  refused = false,
  lockout = false,
  now = Date.now(),
}: NoteAuthFailureInput) {
  let p = pending.get(db);
  if (!p) pending.set(db, (p = { clients: new Map(), unattributed: null }));
  let t = p.clients.get(client);
  if (!t) {
    if (tallied < MAX_AUTH_FAILURE_CLIENTS) {
      p.clients.set(client, (t = { count: 0, refused: 0, lockouts: 0, firstAt: now, lastAt: now }));
      tallied++;
    } else t = p.unattributed ??= { count: 0, refused: 0, lockouts: 0, firstAt: now, lastAt: now };
  }
  if (refused) t.refused++;
  else t.count++;
  if (lockout) t.lockouts++;
  t.lastAt = now;
  if (!timer) {
    timer = setTimeout(() => void flushAuthFailureAudit(), env().apiAuthFailureAuditSeconds * 1000);
    timer.unref();
  }
}

function row(client: string | null, t: Tally) {
  return auditValues({
    organizationId: null,
    actor: { type: "anonymous" },
    action: "api.auth_failed",
    outcome: "denied",
    ip: client,
    details: {
      count: t.count,
      refused: t.refused,
      lockouts: t.lockouts,
      first_at: new Date(t.firstAt).toISOString(),
      last_at: new Date(t.lastAt).toISOString(),
      ...(client === null ? { unattributed: true } : {}),
    },
  });
}

/**
 * Ends the interval: writes one row per client address tallied since the last call (and one for
 * the failures past MAX_AUTH_FAILURE_CLIENTS), then flushes the audit buffer. Called by its timer,
 * and on shutdown before the process exits. Resolves once the rows are committed.
 */
export async function flushAuthFailureAudit() {
  if (timer) clearTimeout(timer);
  timer = null;
  const batches = [...pending];
  pending.clear();
  tallied = 0;
  for (const [db, p] of batches) {
    for (const [client, t] of p.clients) bufferAuditValues(db, row(client, t));
    if (p.unattributed) {
      bufferAuditValues(db, row(null, p.unattributed));
      const unattributed = p.unattributed.count + p.unattributed.refused;
      const msg =
        "failed API authentications from more addresses than tracked: the rest are audited without an address";
      logger.warn({ tracked: MAX_AUTH_FAILURE_CLIENTS, unattributed }, msg);
    }
  }
  await flushAuditBuffer();
}
