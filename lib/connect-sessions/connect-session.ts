// A connect session's life: looked up by its token (the hosted page, the script's status poll) or by
// id (the integrator's backend), started once (the connection created or reused, a consent request
// tied to the session), settled by the OAuth callback, revoked while unused.
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { sha256 } from "@/lib/oauth/pkce";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { createConnection } from "@/lib/connections/create-connection";
import { METADATA_MAX_KEYS } from "@/lib/connections/schemas";
type ConnectSession = NonNullable<Awaited<ReturnType<Db["connectSession"]["findUnique"]>>>;

export type ConnectStatus = "pending" | "connected" | "error" | "expired";

/** What the opener (postMessage), the return URL and the status poll are told: never a secret. */
export type ConnectResult = {
  status: ConnectStatus;
  connectionId: string | null;
  tenantId: string | null;
  error: string | null;
};

const ANONYMOUS: Actor = { type: "anonymous", label: "connect session" };

export function statusOf(s: Pick<ConnectSession, "status" | "expiresAt" | "startedAt" | "revokedAt">): ConnectStatus {
  if (s.revokedAt) return "error";
  if (s.status === "pending" && !s.startedAt && s.expiresAt <= new Date()) return "expired";
  return s.status as ConnectStatus;
}

export function resultOf(s: ConnectSession): ConnectResult {
  const status = statusOf(s);
  return {
    status,
    connectionId: s.connectionId,
    tenantId: s.tenantId,
    error: s.revokedAt ? "revoked" : status === "expired" ? "expired" : s.errorCode,
  };
}

/** Where a session's result is told: the opener at an allowed origin (popup), or the return URL (redirect). */
export type ConnectReport = {
  origins: string[];
  mode: "popup" | "redirect" | null;
  returnUrl: string | null;
  result: ConnectResult;
};

export function reportOf(s: ConnectSession, result: ConnectResult = resultOf(s)): ConnectReport {
  return {
    origins: originsOf(s),
    mode: s.mode === "popup" || s.mode === "redirect" ? s.mode : null,
    returnUrl: s.returnUrl,
    result,
  };
}

export function originsOf(s: Pick<ConnectSession, "allowedOrigins">): string[] {
  return JSON.parse(s.allowedOrigins) as string[];
}

export async function findSessionByToken(db: Db, token: string) {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  return db.connectSession.findUnique({ where: { tokenHash: sha256(token) } });
}

/** Why a session cannot be started any more (used, expired, revoked), or null while it can. */
export function closedReason(s: ConnectSession): "used" | "expired" | "revoked" | null {
  if (s.revokedAt) return "revoked";
  if (s.startedAt) return "used";
  if (s.expiresAt <= new Date()) return "expired";
  return null;
}

/** The hosted page was opened (audited once). */
export async function markOpened(db: Db, s: ConnectSession, ip: string | null) {
  if (s.openedAt) return;
  const { count } = await db.connectSession.updateMany({
    where: { id: s.id, openedAt: null },
    data: { openedAt: new Date() },
  });
  if (count === 1)
    await recordAuditEvent(
      {
        organizationId: s.organizationId,
        actor: ANONYMOUS,
        action: "connect_session.opened",
        outcome: "success",
        target: { type: "connect_session", id: s.id },
        ip,
      },
      db,
    );
}

/**
 * "Continue": claims the session (single use), creates the new connection or reuses the session's own
 * one, and opens a consent request tied to the session. Null when the session can no longer start.
 */
export async function startConnectSession(
  db: Db,
  token: string,
  mode: "popup" | "redirect",
  ip: string | null,
): Promise<{ consentRequestId: string; organizationId: string } | null> {
  const s = await findSessionByToken(db, token);
  if (!s || closedReason(s)) return null;
  const now = new Date();
  const { count } = await db.connectSession.updateMany({
    where: { id: s.id, startedAt: null, revokedAt: null, expiresAt: { gt: now } },
    data: { startedAt: now, mode },
  });
  if (count !== 1) return null;
  const metadata = JSON.parse(s.metadata) as Record<string, string>;
  let connectionId = s.connectionId;
  try {
    if (!connectionId) {
      const c = await createConnection({
        db,
        organizationId: s.organizationId,
        input: { ...(JSON.parse(s.newConnection ?? "{}") as object), metadata },
        actor: { type: "anonymous", label: `connect session ${s.id}` },
      });
      connectionId = c.id;
    } else if (Object.keys(metadata).length) {
      // a reconnect's metadata merges into the connection's own (within its limit)
      const c = await db.connection.findFirstOrThrow({
        where: { id: connectionId, organizationId: s.organizationId },
        select: { customerMetadata: true },
      });
      const merged = { ...(JSON.parse(c.customerMetadata) as Record<string, string>), ...metadata };
      if (Object.keys(merged).length <= METADATA_MAX_KEYS)
        await db.connection.updateMany({
          where: { id: connectionId, organizationId: s.organizationId },
          data: { customerMetadata: JSON.stringify(merged) },
        });
    }
  } catch (err) {
    // the app was deleted or the settings no longer pass since the session was made: the session ends
    await settleSession(db, s.id, {
      status: "error",
      errorCode: err instanceof AppError && err.code === "validation" ? "invalid_session" : "start_failed",
    });
    throw err;
  }
  const request = await db.consentRequest.create({
    data: {
      organizationId: s.organizationId,
      connectionId,
      providerId: s.providerId,
      expiresAt: new Date(Date.now() + 3600_000),
      connectSessionId: s.id,
    },
  });
  await db.connectSession.updateMany({ where: { id: s.id }, data: { connectionId } });
  await recordAuditEvent(
    {
      organizationId: s.organizationId,
      actor: ANONYMOUS,
      action: "connect_session.started",
      outcome: "success",
      target: { type: "connect_session", id: s.id },
      ip,
      details: { connectionId, provider: s.providerId },
    },
    db,
  );
  return { consentRequestId: request.id, organizationId: s.organizationId };
}

async function settleSession(
  db: Db,
  id: string,
  data: { status: "connected" | "error"; errorCode?: string | null; tenantId?: string | null },
) {
  await db.connectSession.updateMany({
    where: { id, status: "pending" },
    data: {
      status: data.status,
      errorCode: data.errorCode ?? null,
      tenantId: data.tenantId ?? null,
      finishedAt: new Date(),
    },
  });
}

/**
 * The OAuth callback of a session's flow ended: the session takes its outcome (audited) and the
 * result page learns where to report it. Only Consentry's own reason codes travel, never provider text.
 */
export async function settleConnectSessionFlow(
  db: Db,
  sessionId: string,
  outcome: { ok: boolean; connectionId?: string; tenantId?: string | null; reason?: string },
): Promise<ConnectReport | null> {
  const s = await db.connectSession.findUnique({ where: { id: sessionId } });
  if (!s) return null;
  await settleSession(db, s.id, {
    status: outcome.ok ? "connected" : "error",
    errorCode: outcome.ok ? null : (outcome.reason ?? "unknown"),
    tenantId: outcome.ok ? (outcome.tenantId ?? null) : null,
  });
  const after = await db.connectSession.findUniqueOrThrow({ where: { id: s.id } });
  await recordAuditEvent(
    {
      organizationId: s.organizationId,
      actor: ANONYMOUS,
      action: outcome.ok ? "connect_session.connected" : "connect_session.failed",
      outcome: outcome.ok ? "success" : "failure",
      target: { type: "connect_session", id: s.id },
      details: { connectionId: after.connectionId, ...(outcome.ok ? {} : { reason: after.errorCode }) },
    },
    db,
  );
  return reportOf(after);
}

export async function getConnectSession(db: Db, organizationId: string, id: string) {
  const s = await db.connectSession.findFirst({ where: { id, organizationId } });
  if (!s)
    throw new AppError("not-found", `No connect session ${id} in this organization.`, {
      i18n: { key: "errors.connectSessionNotFound" },
    });
  return s;
}

/** Revoke a session that has not been started; a started one has a consent flow of its own. */
export async function revokeConnectSession(db: Db, organizationId: string, id: string, actor: Actor) {
  const s = await getConnectSession(db, organizationId, id);
  const { count } = await db.connectSession.updateMany({
    where: { id: s.id, organizationId, startedAt: null, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  if (count !== 1)
    throw new AppError("conflict", "This connect session was already used or revoked.", {
      i18n: { key: "errors.connectSessionUsed" },
    });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connect_session.revoked",
      outcome: "success",
      target: { type: "connect_session", id: s.id },
    },
    db,
  );
  return db.connectSession.findUniqueOrThrow({ where: { id: s.id } });
}

export function serializeConnectSession(s: ConnectSession) {
  const r = resultOf(s);
  return {
    id: s.id,
    status: r.status,
    provider: s.providerId,
    connection_id: r.connectionId,
    tenant_id: r.tenantId,
    error: r.error,
    expires_at: s.expiresAt.toISOString(),
    created_at: s.createdAt.toISOString(),
  };
}

/** The answer of GET /connect/{token}/status: CORS only for the session's allowed origins, nothing secret. */
export async function connectStatusResponse(db: Db, token: string, origin: string | null): Promise<Response> {
  const s = await findSessionByToken(db, token);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    vary: "Origin",
  };
  if (s && origin && originsOf(s).includes(origin)) headers["access-control-allow-origin"] = origin;
  if (!s) return new Response(JSON.stringify({ status: "error", error: "unknown_session" }), { status: 404, headers });
  const r = resultOf(s);
  return new Response(
    JSON.stringify({
      status: r.status,
      connection_id: r.connectionId,
      ...(r.tenantId ? { tenant_id: r.tenantId } : {}),
      ...(r.error ? { error: r.error } : {}),
    }),
    { status: 200, headers },
  );
}
