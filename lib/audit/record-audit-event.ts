// Appends one audit event. Details are scrubbed before they are stored: values under secret-bearing
// keys are dropped, and token- or JWT-shaped text is cut out of every other string.
import type { Db, Tx } from "@/lib/db/client";
import { db as defaultDb } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import { bufferAuditValues } from "@/lib/audit/audit-buffer";
import { redactTokenShapes } from "@/lib/oauth/redact";
import type { AuditValues } from "@/lib/db/hot-queries";

/** Who did it; `requestId`: the request it was done in (the REST API's X-Request-Id), stored with the event. */
export type Actor =
  | { type: "user"; id: string; label?: string; requestId?: string }
  | { type: "api_key"; id: string; label?: string; requestId?: string }
  | { type: "system"; label?: string; requestId?: string }
  | { type: "anonymous"; label?: string; requestId?: string };

export type AuditInput = {
  organizationId: string | null;
  actor: Actor;
  action: string;
  outcome: "success" | "failure" | "denied";
  target?: { type: string; id: string };
  ip?: string | null;
  details?: Record<string, unknown>;
};

const SECRET_KEY = /(secret|token|password|code|assertion|verifier|private|key|cookie|authorization|state)/i;
// "code" above is OAuth's authorization code; these names only look alike. Their values are checked
// at the source (readOAuthErrorCode: no echoed request passes as an error code; Microsoft's error_codes
// are numbers) and, as every string here, scrubbed of token shapes.
const KEPT_KEY = /^(error_?codes?|status_?code)$/i;
// the verdict per key name (there are few distinct names; every API call is audited)
const secretKeyVerdicts = new Map<string, boolean>();
function isSecretKey(k: string) {
  let v = secretKeyVerdicts.get(k);
  if (v === undefined) {
    v = SECRET_KEY.test(k) && !KEPT_KEY.test(k);
    if (secretKeyVerdicts.size < 10_000) secretKeyVerdicts.set(k, v);
  }
  return v;
}

export function scrubDetails(value: unknown, depth = 0): unknown {
  if (depth > 4) return "[truncated]";
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => scrubDetails(v, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = Object.create(null); // "__proto__" stays a plain key
    for (const k of Object.keys(value))
      out[k] = isSecretKey(k) ? "[redacted]" : scrubDetails((value as Record<string, unknown>)[k], depth + 1);
    return out;
  }
  // scrubbed before it is cut: a cut token would no longer look like one
  if (typeof value === "string") return truncateDetail(redactTokenShapes(value));
  return value;
}

/** A detail string as stored: at most 500 characters. */
export function truncateDetail(value: string) {
  return value.length > 500 ? `${value.slice(0, 500)}…` : value;
}

/**
 * The stored values of an audit input (details scrubbed of secrets), in the AuditEvent column order
 * between `id` and `createdAt` — the shape the batched API audit binds directly.
 */
export function auditValues(input: AuditInput): AuditValues {
  const actor = input.actor;
  return [
    input.organizationId,
    actor.type,
    "id" in actor ? actor.id : null,
    actor.label ?? null,
    input.action,
    input.target?.type ?? null,
    input.target?.id ?? null,
    input.outcome,
    input.ip ?? null,
    actor.requestId ?? null,
    JSON.stringify(scrubDetails(input.details ?? {})),
  ];
}

/** The row stored for an audit input (details scrubbed of secrets). */
export function auditRow(input: AuditInput) {
  const [
    organizationId,
    actorType,
    actorId,
    actorLabel,
    action,
    targetType,
    targetId,
    outcome,
    ip,
    requestId,
    details,
  ] = auditValues(input);
  return {
    organizationId,
    actorType,
    actorId,
    actorLabel,
    action,
    targetType,
    targetId,
    outcome,
    ip,
    requestId,
    details,
  };
}

export async function recordAuditEvent(input: AuditInput, client: Db | Tx = defaultDb()) {
  try {
    await client.auditEvent.create({ data: auditRow(input) });
  } catch (err) {
    // An audit write failure never turns a user's success into a failure. Outside a transaction the
    // row goes to the audit buffer, which keeps it and retries (lib/audit/audit-buffer.ts).
    if ("$transaction" in client) {
      logger.warn(
        { err: { message: (err as Error).message }, action: input.action },
        "audit event not recorded yet: buffered for retry",
      );
      bufferAuditValues(client, auditValues(input));
    } else logger.error({ err: { message: (err as Error).message }, action: input.action }, "audit event not recorded");
  }
}
