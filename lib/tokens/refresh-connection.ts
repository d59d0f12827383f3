// Refreshes one connection under a lease: the refresh-token grant (to the refresh URL if there is
// one, else the token URL, with the provider's client authentication), or, for Microsoft app-only
// connections, a new client-credentials token. The new tokens are written in one transaction with a
// version check. Failures are classified; none of them destroys the stored, still-valid token.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { clientAuthMethod, hostOverridesFromMetadata, providerUrl } from "@/lib/providers/resolve-url";
import { requestToken } from "@/lib/oauth/token-request";
import { requestAppOnlyToken } from "@/lib/oauth/app-only-token";
import { TokenEndpointError, type TokenFailureClass } from "@/lib/oauth/token-errors";
import type { TokenSetData } from "@/lib/oauth/parse-token-response";
import { getAppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { saveTokenSet } from "@/lib/tokens/save-token-set";
import { openToken } from "@/lib/tokens/token-secrets";
import { claimLease, releaseLease } from "@/lib/tokens/lease";
import { nextRefreshAt } from "@/lib/tokens/next-refresh-at";
import { MAX_QUICK_ATTEMPTS, backoffMs } from "@/lib/tokens/backoff";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { logger } from "@/lib/logger";
import { env } from "@/lib/env";

export type RefreshOutcome =
  | { result: "refreshed" }
  | { result: "already_fresh" }
  | { result: "busy" }
  | { result: "skipped"; why: string }
  | { result: "failed"; failureClass: TokenFailureClass; errorCode: string; retryAfterSeconds?: number };

/** This process's identity in lease rows. */
export const PROCESS_ID = `${process.pid}-${crypto.randomBytes(4).toString("hex")}`;

export async function refreshConnection({
  db,
  connectionId,
  reason,
  owner = PROCESS_ID,
  now = () => new Date(),
  ifVersion,
  onlyIfDue = false,
  requestId,
}: {
  db: Db;
  connectionId: string;
  reason: string;
  owner?: string;
  now?: () => Date;
  /** the token-set version the caller found too old: if another worker has written a newer one since, nothing is sent */
  ifVersion?: number;
  /** the scheduler: once the lease is held, refresh only if the connection is still due (another worker may have just done it) */
  onlyIfDue?: boolean;
  /** the API request this refresh serves: stored with its audit event */
  requestId?: string;
}): Promise<RefreshOutcome> {
  if (!(await claimLease({ db, connectionId, owner, now: now() }))) return { result: "busy" };
  try {
    return await refreshLeased({ db, connectionId, reason, now, ifVersion, onlyIfDue, actor: { type: "system", label: "refresh", requestId } });
  } finally {
    await releaseLease({ db, connectionId, owner });
  }
}

async function refreshLeased({ db, connectionId, reason, now, ifVersion, onlyIfDue, actor }: { db: Db; connectionId: string; reason: string; now: () => Date; ifVersion?: number; onlyIfDue: boolean; actor: Actor }): Promise<RefreshOutcome> {
  const c = await db.connection.findUnique({ where: { id: connectionId }, include: { tokenSet: true } });
  if (!c || !c.tokenSet) return { result: "skipped", why: "no tokens" };
  // Checked under the lease, so the decision cannot race: whoever refreshed before us has committed.
  if (ifVersion !== undefined && c.tokenSet.version !== ifVersion) return { result: "already_fresh" };
  if (onlyIfDue && (!c.nextRefreshAt || c.nextRefreshAt > now())) return { result: "busy" };
  if (c.status === "revoked" || c.status === "needs_reconsent" || c.status === "pending_consent") return { result: "skipped", why: c.status };
  const provider = PROVIDERS.get(c.providerId);
  if (!provider || provider.authKind !== "oauth2" || !c.oauthAppId) {
    await db.connection.update({ where: { id: connectionId }, data: { nextRefreshAt: null } });
    return { result: "skipped", why: "not refreshable" };
  }
  const organizationId = c.organizationId;
  const owner = { organizationId, connectionId };
  const readVersion = c.tokenSet.version;
  const settings = JSON.parse(c.settings) as Record<string, unknown>;
  const metadata = JSON.parse(c.metadata) as Record<string, string>;
  const hostOverrides = hostOverridesFromMetadata(metadata);
  const hadRefreshToken = Boolean(c.tokenSet.refreshTokenEnc);
  const started = now();

  let data: TokenSetData;
  try {
    const app = await getAppCredentials({ db, appId: c.oauthAppId, organizationId });
    if (c.tokenSet.refreshTokenEnc) {
      const refreshToken = openToken(owner, "refreshTokenEnc", c.tokenSet.refreshTokenEnc);
      const url = providerUrl(provider, provider.refreshUrl && settings.refresh_url ? provider.refreshUrl : provider.tokenUrl, { settings, hostOverrides, metadata }, "token URL");
      const method = clientAuthMethod(provider, settings);
      data = await requestToken({
        provider,
        url,
        // Seed 001's refresh body: grant_type, client_id, client_secret, refresh_token (+ Azure's resource).
        params: { grant_type: "refresh_token", refresh_token: refreshToken, ...provider.tokenParams },
        client: { clientId: app.clientId, clientSecret: app.clientSecret, method },
      });
    } else if (provider.appOnly && c.externalTenantId) {
      data = await requestAppOnlyToken({ provider, app, tenantId: c.externalTenantId });
    } else {
      // Nothing to refresh with: stop scheduling; the token lives until it expires.
      await db.connection.update({ where: { id: connectionId }, data: { nextRefreshAt: null } });
      return { result: "skipped", why: "no refresh token" };
    }
  } catch (e) {
    if (!(e instanceof TokenEndpointError)) {
      // A local fault (decryption, expired certificate…): treat as retryable app trouble, never lose the token.
      logger.error({ connectionId, requestId: actor.requestId, err: { message: (e as Error).message } }, "refresh failed before reaching the provider");
      return recordFailure({ db, c, reason, actor, failureClass: "app_misconfigured", errorCode: "local_error", message: (e as Error).message.slice(0, 300), now });
    }
    if (e.failureClass === "needs_reconsent" || e.failureClass === "consent_missing") {
      // Another process may have rotated the token while we held a stale copy: that is success.
      const current = await db.tokenSet.findUnique({ where: { connectionId }, select: { version: true } });
      if (current && current.version !== readVersion) return { result: "already_fresh" };
    }
    return recordFailure({ db, c, reason, actor, failureClass: e.failureClass, errorCode: e.errorCode, message: e.message, retryAfterSeconds: e.details.retryAfterSeconds, errorCodes: e.details.errorCodes, now });
  }

  const at = now();
  const refreshTokenExpiresAt = data.refreshToken ? data.refreshTokenExpiresAt : c.refreshTokenExpiresAt;
  const written = await db.$transaction(async (tx) => {
    const ok = await saveTokenSet({ tx, organizationId, connectionId, data, expectedVersion: readVersion });
    if (!ok) return false;
    await tx.connection.update({
      where: { id: connectionId },
      data: {
        status: "active",
        expiresAt: data.expiresAt,
        refreshTokenExpiresAt,
        lastRefreshedAt: at,
        nextRefreshAt: nextRefreshAt({ provider, expiresAt: data.expiresAt, refreshTokenExpiresAt, hasRefreshToken: hadRefreshToken || Boolean(data.refreshToken), now: at }),
        refreshAttempts: 0,
        lastErrorCode: null,
        lastErrorMessage: null,
        lastErrorAt: null,
        // a refresh token that no longer expires within the warning horizon is announced again when it does
        ...(refreshTokenExpiresAt && refreshTokenExpiresAt.getTime() > at.getTime() + env().expiryWarningDays * 86400_000 ? { refreshTokenWarnedAt: null } : {}),
        ...(data.scopes ? { scopes: data.scopes.join(" ") } : {}),
      },
    });
    return true;
  });
  if (!written) return { result: "already_fresh" };
  await recordAuditEvent({ organizationId, actor, action: "connection.refreshed", outcome: "success", target: { type: "connection", id: connectionId }, details: { reason, rotated: Boolean(data.refreshToken), ms: at.getTime() - started.getTime() } }, db);
  if (c.status === "error") await emitConnectionEvent({ db, organizationId, connectionId, type: "connection.recovered" });
  return { result: "refreshed" };
}

type Conn = { id: string; organizationId: string; oauthAppId: string | null; refreshAttempts: number; status: string; expiresAt: Date | null };

async function recordFailure({ db, c, reason, actor, failureClass, errorCode, message, retryAfterSeconds, errorCodes, now }: { db: Db; c: Conn; reason: string; actor: Actor; failureClass: TokenFailureClass; errorCode: string; message: string; retryAfterSeconds?: number; errorCodes?: number[]; now: () => Date }): Promise<RefreshOutcome> {
  const at = now();
  const organizationId = c.organizationId;
  const base = { lastErrorCode: failureClass === "consent_missing" ? "consent_missing" : errorCode, lastErrorMessage: message.slice(0, 500), lastErrorAt: at };
  if (failureClass === "needs_reconsent" || failureClass === "consent_missing") {
    await db.connection.update({ where: { id: c.id }, data: { ...base, status: "needs_reconsent", nextRefreshAt: null } });
    await emitConnectionEvent({ db, organizationId, connectionId: c.id, type: "connection.needs_reconsent", data: { reason: failureClass, errorCode } });
  } else if (failureClass === "app_misconfigured" || failureClass === "clock_skew") {
    // The app's credentials (or our clock) are wrong, not the connection: alert operators on the app,
    // leave the connection's status alone, look again in an hour.
    if (c.oauthAppId) await db.oAuthApp.update({ where: { id: c.oauthAppId }, data: { alertCode: errorCodes?.length ? `AADSTS${errorCodes[0]}` : errorCode, alertMessage: message.slice(0, 500), alertAt: at } });
    await db.connection.update({ where: { id: c.id }, data: { ...base, nextRefreshAt: new Date(at.getTime() + 3600_000) } });
  } else {
    const attempts = c.refreshAttempts + 1;
    const wait = backoffMs(attempts, retryAfterSeconds);
    await db.connection.update({
      where: { id: c.id },
      data: { ...base, refreshAttempts: attempts, nextRefreshAt: new Date(at.getTime() + wait), ...(attempts >= MAX_QUICK_ATTEMPTS ? { status: "error" } : {}) },
    });
    if (attempts === MAX_QUICK_ATTEMPTS) await emitConnectionEvent({ db, organizationId, connectionId: c.id, type: "connection.refresh_failed", data: { errorCode, attempts } });
  }
  await recordAuditEvent({ organizationId, actor, action: "connection.refresh_failed", outcome: "failure", target: { type: "connection", id: c.id }, details: { reason, failureClass, errorCode, errorCodes } }, db);
  return { result: "failed", failureClass, errorCode, retryAfterSeconds };
}
