// The end of every consent flow, for every provider: the callback route and the headless paste both
// land here. The state is consumed atomically before anything else (single-use even on failure);
// then browser, provider, expiry and the provider's own error are checked; only then is the code
// exchanged — with the configured redirect URI, never one derived from the request. Tokens and the
// active connection are written in one transaction; on any failure nothing is stored.
import { settleConnectSessionFlow, type ConnectReport } from "@/lib/connect-sessions/connect-session";
import type { Db } from "@/lib/db/client";
import { decryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { PROVIDERS, providerDisplayName } from "@/lib/providers/catalogue";
import { clientAuthMethod, providerUrl, renderTemplate } from "@/lib/providers/resolve-url";
import type { TProvider } from "@/lib/providers/schema";
import { sha256 } from "@/lib/oauth/pkce";
import { requestToken } from "@/lib/oauth/token-request";
import { requestAppOnlyToken } from "@/lib/oauth/app-only-token";
import { readTenantClaims } from "@/lib/oauth/read-token-claims";
import { TokenEndpointError, readOAuthErrorCode } from "@/lib/oauth/token-errors";
import { createRedactor } from "@/lib/oauth/redact";
import type { TokenSetData } from "@/lib/oauth/parse-token-response";
import { getAppCredentials, type AppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { saveTokenSet } from "@/lib/tokens/save-token-set";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { logger } from "@/lib/logger";
import { retryWhileUnavailable } from "@/lib/db/database-errors";
import { nextRefreshAt } from "@/lib/tokens/next-refresh-at";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { recordConsentOutcome } from "@/lib/metrics/metrics";

export type ConsentFailureReason =
  | "state_missing"
  | "state_invalid"
  | "state_expired"
  | "wrong_browser"
  | "wrong_provider"
  | "link_closed"
  | "provider_error"
  | "code_missing"
  | "host_not_allowed"
  | "issuer_mismatch"
  | "exchange_failed"
  | "invalid_response"
  | "tenant_conflict"
  | "tenant_mismatch"
  | "app_misconfigured"
  | "paste_invalid";

/** For a connect session's flow: who may hear the result, and where a redirect ends. */
type WithConnectReport = { connect?: ConnectReport };

export type ConsentOutcome = (
  | {
      ok: true;
      organizationName: string;
      providerName: string;
      connectionId: string;
      connectionName: string;
      tenantId: string | null;
      tenantLabel: string | null;
      returnTo: string | null;
    }
  | {
      ok: false;
      reason: ConsentFailureReason;
      organizationName?: string;
      providerName?: string;
      providerError?: string;
      providerDescription?: string;
      returnTo?: string | null;
      status: 400 | 409 | 502;
    }
) &
  WithConnectReport;

const include = {
  organization: { select: { id: true, name: true } },
  connection: {
    select: { id: true, name: true, providerId: true, oauthAppId: true, settings: true, scopes: true, status: true },
  },
} as const;
type Row = NonNullable<Awaited<ReturnType<Db["consentRequest"]["findUnique"]>>> & {
  organization: { id: string; name: string };
  connection: {
    id: string;
    name: string;
    providerId: string;
    oauthAppId: string | null;
    settings: string;
    scopes: string;
    status: string;
  };
};

function fail(
  reason: ConsentFailureReason,
  extra: Partial<Extract<ConsentOutcome, { ok: false }>> = {},
): ConsentOutcome {
  const status = reason === "tenant_conflict" ? 409 : reason === "exchange_failed" ? 502 : 400;
  recordConsentOutcome(reason); // every failed flow ends here, once
  return { ok: false, reason, status, ...extra };
}

/** Consumes the state: the row is claimed and its state cleared in one conditional update. */
async function consume(
  db: Db,
  where:
    | { stateHash: string; organizationId?: string; connectionId?: string }
    | { connectionId: string; organizationId: string; browserHash: string },
): Promise<Row | null> {
  const row = (await db.consentRequest.findFirst({
    where: "stateHash" in where ? where : { ...where, stateHash: { not: null } },
    include,
    orderBy: { stateExpiresAt: "desc" },
  })) as Row | null;
  if (!row || !row.stateHash) return null;
  const { count } = await db.consentRequest.updateMany({
    where: { id: row.id, stateHash: row.stateHash },
    data: { stateHash: null, stateExpiresAt: null, pkceVerifierEnc: null, browserHash: null },
  });
  return count === 1 ? row : null;
}

export async function completeConsent({
  db,
  providerId,
  params,
  browserSecret,
  ip,
}: {
  db: Db;
  providerId: string;
  params: URLSearchParams;
  browserSecret: string | undefined;
  ip?: string | null;
}): Promise<ConsentOutcome> {
  const state = params.get("state");
  if (!state) {
    await recordAuditEvent(
      {
        organizationId: null,
        actor: { type: "anonymous" },
        action: "oauth.state_missing",
        outcome: "denied",
        ip,
        details: { provider: providerId },
      },
      db,
    );
    return fail("state_missing");
  }
  const row = await consume(db, { stateHash: sha256(state) });
  if (!row) {
    await recordAuditEvent(
      {
        organizationId: null,
        actor: { type: "anonymous" },
        action: "oauth.state_invalid",
        outcome: "denied",
        ip,
        details: { provider: providerId },
      },
      db,
    );
    return fail("state_invalid");
  }
  return finish({ db, row, providerId, params, browserSecret, ip });
}

/**
 * Headless path: the user pastes the URL the provider redirected to (or just the code). The same
 * checks apply; a bare code is matched to the flow this browser started for this connection.
 */
export async function completeConsentFromPaste({
  db,
  organizationId,
  connectionId,
  pasted,
  browserSecret,
  ip,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  pasted: string;
  browserSecret: string | undefined;
  ip?: string | null;
}): Promise<ConsentOutcome> {
  const text = pasted.trim();
  if (!text || text.length > 8192) return fail("paste_invalid");
  const connection = await db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: { providerId: true },
  });
  if (!connection) return fail("paste_invalid");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || text.startsWith("?")) {
    let params: URLSearchParams;
    try {
      const u = new URL(text, "https://paste.invalid");
      params = new URLSearchParams(u.search);
      if (!params.has("state") && u.hash) params = new URLSearchParams(u.hash.slice(1));
    } catch {
      return fail("paste_invalid");
    }
    if (params.has("state")) {
      // Scoped to this organization and connection: someone else's pasted URL cannot use up their flow.
      const row = await consume(db, { stateHash: sha256(params.get("state")!), organizationId, connectionId });
      if (!row) return fail("state_invalid");
      return finish({ db, row, providerId: connection.providerId, params, browserSecret, ip });
    }
    const code = params.get(PROVIDERS.get(connection.providerId)?.callbackCodeParam ?? "code");
    if (!code) return fail("paste_invalid");
    return completeConsentFromPaste({ db, organizationId, connectionId, pasted: code, browserSecret, ip });
  }
  if (!/^[\x21-\x7e]+$/.test(text)) return fail("paste_invalid");
  if (!browserSecret) return fail("wrong_browser");
  const row = await consume(db, { connectionId, organizationId, browserHash: sha256(browserSecret) });
  if (!row) return fail("state_invalid");
  const provider = PROVIDERS.get(row.providerId);
  return finish({
    db,
    row,
    providerId: row.providerId,
    params: new URLSearchParams({ [provider?.callbackCodeParam ?? "code"]: text }),
    browserSecret,
    ip,
  });
}

type Failure = {
  reason: ConsentFailureReason;
  details?: Record<string, unknown>;
  extra?: Partial<Extract<ConsentOutcome, { ok: false }>>;
};
type Ctx = {
  db: Db;
  row: Row;
  ip?: string | null;
  names: { organizationName: string; providerName: string; returnTo: string | null };
  /** who consents: the signed-in user of a "Connect now", else the tenant admin who opened a link */
  actor: Actor;
};
type Obtained = {
  data: TokenSetData;
  tenant: ReturnType<typeof readTenantClaims>;
  hostOverrides?: Record<string, string>;
};

/**
 * Who consents in this flow. "Connect now" (createDirectConsent) is the signed-in user's own: no
 * link token, no connect session, its creator recorded. A link is opened by someone without an account.
 */
async function consentActor(db: Db, row: Row): Promise<Actor> {
  const anonymous: Actor = { type: "anonymous", label: "tenant admin" };
  if (!row.createdByUserId || row.linkTokenHash || row.connectSessionId) return anonymous;
  const user = await db.user.findUnique({ where: { id: row.createdByUserId }, select: { id: true, email: true } });
  return user ? { type: "user", id: user.id, label: user.email } : anonymous;
}

/** A consent event of this flow, by whoever consents (consentActor), on the connection. */
function audit(ctx: Ctx, action: string, outcome: "success" | "failure" | "denied", details: Record<string, unknown>) {
  const { db, row, ip } = ctx;
  return recordAuditEvent(
    {
      organizationId: row.organizationId,
      actor: ctx.actor,
      action,
      outcome,
      ip,
      target: { type: "connection", id: row.connectionId },
      details: { provider: row.providerId, ...details },
    },
    db,
  );
}

/** Records a failed consent (audit; for what its owner should see, the connection's last error) and answers it. */
async function recordFailure(ctx: Ctx, { reason, details = {}, extra = {} }: Failure): Promise<ConsentOutcome> {
  const action =
    reason === "wrong_browser"
      ? "oauth.state_mismatch"
      : reason === "wrong_provider"
        ? "oauth.provider_mismatch"
        : "consent.failed";
  await audit(ctx, action, reason === "provider_error" ? "failure" : "denied", { reason, ...details });
  if (!["wrong_browser", "wrong_provider", "state_expired", "link_closed"].includes(reason)) {
    await ctx.db.connection.updateMany({
      where: { id: ctx.row.connectionId, organizationId: ctx.row.organizationId },
      data: {
        lastErrorCode: reason,
        lastErrorMessage: extra.providerError ? `${reason}: ${extra.providerError}` : reason,
        lastErrorAt: new Date(),
      },
    });
  }
  return fail(reason, { ...ctx.names, ...extra });
}

/** This browser, this provider, a state still fresh, a link still open. */
function checkFlow(row: Row, browserSecret: string | undefined): Failure | null {
  if (!browserSecret || sha256(browserSecret) !== row.browserHash) return { reason: "wrong_browser" };
  if (!row.stateExpiresAt || row.stateExpiresAt <= new Date()) return { reason: "state_expired" };
  // A disconnect closes the open requests in its own transaction; a request made after it is a reconnect.
  if (row.revokedAt || row.usedAt || row.expiresAt <= new Date()) return { reason: "link_closed" };
  return null;
}

/**
 * The provider's own refusal, which wins over everything else (Azure's admin_consent=True included).
 * Both texts are the provider's: an `error` that is no plain code is not shown, and the state (or a
 * code) it echoes is scrubbed before anything is stored, logged or put on the tenant admin's result page.
 */
function providerRefusal(provider: TProvider, params: URLSearchParams): Failure | null {
  const error = params.get("error");
  if (!error) return null;
  const redact = createRedactor([params.get("state"), params.get(provider.callbackCodeParam)]);
  const code = readOAuthErrorCode(error, redact) ?? "invalid_response";
  const description = params.get("error_description");
  const providerDescription = description ? redact(description).slice(0, 500) : undefined;
  return { reason: "provider_error", details: { error: code }, extra: { providerError: code, providerDescription } };
}

/**
 * Microsoft's v2 admin consent returns only `tenant`, which proves nothing by itself: ask the tenant for
 * an app-only token and link only the tid inside the token Consentry obtained. A platform app is shared
 * (any tenant that ever consented to it would "prove" itself), so only the organization's own app is trusted.
 */
async function proveAdminConsent(
  provider: TProvider,
  app: AppCredentials,
  params: URLSearchParams,
): Promise<Obtained | Failure> {
  if (app.organizationId === null)
    return { reason: "app_misconfigured", details: { why: "v2 admin consent needs the organization's own app" } };
  const claimed = (params.get("tenant") ?? "").toLowerCase();
  if (params.get("admin_consent") !== "True" || !/^[0-9a-f-]{36}$/.test(claimed)) return { reason: "code_missing" };
  const data = await requestAppOnlyToken({ provider, app, tenantId: claimed });
  const tenant = readTenantClaims(provider, data.accessToken);
  if (!tenant || tenant.tenantId !== claimed) return { reason: "tenant_mismatch" };
  return { data, tenant };
}

/** The authorization code exchanged at the token URL, with the configured redirect URI and the flow's PKCE verifier. */
async function exchangeCode(
  ctx: Ctx,
  provider: TProvider,
  app: AppCredentials,
  settings: Record<string, unknown>,
  params: URLSearchParams,
): Promise<Obtained | Failure> {
  const { row } = ctx;
  const code = params.get(provider.callbackCodeParam);
  if (!code) return { reason: "code_missing" };
  let hostOverrides: Record<string, string> | undefined;
  const hostParam = provider.callbackHostParam;
  const host = hostParam ? params.get(hostParam.param) : null;
  if (hostParam && host) {
    if (!new RegExp(hostParam.allow).test(host)) return { reason: "host_not_allowed" };
    hostOverrides = { [hostParam.host]: host };
  }
  const verifier = row.pkceVerifierEnc
    ? decryptSecret(row.pkceVerifierEnc, contextFor("ConsentRequest", row, "pkceVerifierEnc"))
    : null;
  const data = await requestToken({
    provider,
    url: providerUrl(provider, provider.tokenUrl, { settings, hostOverrides }, "token URL"),
    params: {
      grant_type: "authorization_code",
      code,
      redirect_uri: row.redirectUri!,
      ...provider.tokenParams,
      ...(verifier ? { code_verifier: verifier } : {}),
    },
    client: { clientId: app.clientId, clientSecret: app.clientSecret, method: clientAuthMethod(provider, settings) },
  });
  return { data, tenant: readTenantClaims(provider, data.accessToken), hostOverrides };
}

/** The provider's tokens for this consent (or why there are none); a refused token request is a classified failure. */
async function obtainTokens(
  ctx: Ctx,
  provider: TProvider,
  settings: Record<string, unknown>,
  params: URLSearchParams,
): Promise<Obtained | Failure> {
  const { db, row } = ctx;
  if (!row.connection.oauthAppId) return { reason: "app_misconfigured" };
  try {
    const app = await getAppCredentials({ db, appId: row.connection.oauthAppId, organizationId: row.organizationId });
    const adminConsent =
      provider.adminConsent && settings[provider.adminConsent.setting] === provider.adminConsent.value;
    return adminConsent
      ? await proveAdminConsent(provider, app, params)
      : await exchangeCode(ctx, provider, app, settings, params);
  } catch (e) {
    if (!(e instanceof TokenEndpointError)) throw e;
    // checked where the answer is parsed; checked again because from here it reaches the log and the result page
    const code = readOAuthErrorCode(e.errorCode) ?? "invalid_response";
    logger.warn(
      { provider: provider.id, errorCode: code, failureClass: e.failureClass, status: e.details.status },
      "consent token request failed",
    );
    const reason =
      e.failureClass === "invalid_response"
        ? "invalid_response"
        : e.failureClass === "app_misconfigured"
          ? "app_misconfigured"
          : "exchange_failed";
    return { reason, details: { errorCode: code, errorCodes: e.details.errorCodes }, extra: { providerError: code } };
  }
}

/** One tenant belongs to one organization per provider. */
async function tenantLinkedElsewhere(
  db: Db,
  provider: TProvider,
  tenantId: string,
  organizationId: string,
): Promise<boolean> {
  const elsewhere = await db.connection.findFirst({
    where: {
      providerId: provider.id,
      externalTenantId: tenantId,
      organizationId: { not: organizationId },
      status: { not: "revoked" },
    },
    select: { id: true },
  });
  return elsewhere !== null;
}

/**
 * The link used up, the tokens and the active connection written: one transaction, false when the link
 * was used or revoked meanwhile. The code is spent by now, so a database that blinks is waited for (the
 * tenant admin is), not turned into a failed consent.
 */
function storeConsent(ctx: Ctx, provider: TProvider, { data, tenant, hostOverrides }: Obtained): Promise<boolean> {
  const { db, row } = ctx;
  const now = new Date();
  return retryWhileUnavailable(() =>
    db.$transaction(async (tx) => {
      const claimed = await tx.consentRequest.updateMany({
        where: { id: row.id, usedAt: null, revokedAt: null },
        data: { usedAt: now },
      });
      if (claimed.count !== 1) return false;
      await saveTokenSet({ tx, organizationId: row.organizationId, connectionId: row.connectionId, data });
      await tx.connection.update({
        where: { id: row.connectionId },
        data: {
          status: "active",
          externalTenantId: tenant?.tenantId ?? undefined,
          accountName: tenant?.accountName ?? undefined,
          accountEmail: tenant?.accountEmail ?? undefined,
          accountId: tenant?.accountId ?? undefined,
          scopes: data.scopes ? data.scopes.join(" ") : row.requestedScopes,
          metadata: JSON.stringify({
            ...data.metadata,
            ...Object.fromEntries(Object.entries(hostOverrides ?? {}).map(([k, v]) => [`host.${k}`, v])),
          }),
          connectedAt: now,
          expiresAt: data.expiresAt,
          refreshTokenExpiresAt: data.refreshTokenExpiresAt,
          // a new refresh token: its expiry is announced once, whatever was announced for the old one
          refreshTokenWarnedAt: null,
          lastRefreshedAt: now,
          nextRefreshAt: nextRefreshAt({
            provider,
            expiresAt: data.expiresAt,
            refreshTokenExpiresAt: data.refreshTokenExpiresAt,
            hasRefreshToken: Boolean(data.refreshToken),
            now,
          }),
          refreshAttempts: 0,
          lastErrorCode: null,
          lastErrorMessage: null,
          lastErrorAt: null,
        },
      });
      return true;
    }),
  );
}

type FinishArgs = Parameters<typeof finishFlow>[0];

/** A flow of a connect session settles the session too, and tells the result page where to report. */
async function finish(args: FinishArgs): Promise<ConsentOutcome> {
  const outcome = await finishFlow(args);
  if (!args.row.connectSessionId) return outcome;
  const connect = await settleConnectSessionFlow(args.db, args.row.connectSessionId, {
    ok: outcome.ok,
    connectionId: args.row.connectionId,
    tenantId: outcome.ok ? outcome.tenantId : null,
    reason: outcome.ok ? undefined : outcome.reason,
  });
  return connect ? { ...outcome, connect } : outcome;
}

async function finishFlow({
  db,
  row,
  providerId,
  params,
  browserSecret,
  ip,
}: {
  db: Db;
  row: Row;
  providerId: string;
  params: URLSearchParams;
  browserSecret: string | undefined;
  ip?: string | null;
}): Promise<ConsentOutcome> {
  const provider = PROVIDERS.get(row.providerId);
  const ctx: Ctx = {
    db,
    row,
    ip,
    names: {
      organizationName: row.organization.name,
      providerName: providerDisplayName(row.providerId, JSON.parse(row.connection.settings) as Record<string, unknown>),
      returnTo: row.returnTo,
    },
    actor: await consentActor(db, row),
  };
  const flow = checkFlow(row, browserSecret);
  if (flow?.reason === "wrong_browser") return recordFailure(ctx, flow);
  if (!provider || providerId !== row.providerId)
    return recordFailure(ctx, { reason: "wrong_provider", details: { callbackProvider: providerId } });
  const settings = JSON.parse(row.connection.settings) as Record<string, unknown>;
  const refused = flow ?? providerRefusal(provider, params) ?? issuerMismatch(provider, settings, params);
  if (refused) return recordFailure(ctx, refused);

  const obtained = await obtainTokens(ctx, provider, settings, params);
  if ("reason" in obtained) return recordFailure(ctx, obtained);
  const { tenant } = obtained;
  if (tenant && (await tenantLinkedElsewhere(db, provider, tenant.tenantId, row.organizationId))) {
    return recordFailure(ctx, { reason: "tenant_conflict", details: { tenantId: tenant.tenantId } });
  }
  if (!(await storeConsent(ctx, provider, obtained))) return recordFailure(ctx, { reason: "link_closed" });
  await audit(ctx, "consent.completed", "success", { tenantId: tenant?.tenantId ?? null });
  await emitConnectionEvent({
    db,
    organizationId: row.organizationId,
    connectionId: row.connectionId,
    type: "connection.connected",
  });
  recordConsentOutcome("connected");
  return {
    ok: true,
    ...ctx.names,
    connectionId: row.connectionId,
    connectionName: row.connection.name,
    tenantId: tenant?.tenantId ?? null,
    tenantLabel: tenantLabel(tenant),
  };
}

/**
 * RFC 9207: when the provider names the issuer it expects on the callback (the generic provider's
 * optional `issuer` setting), an `iss` that is absent or different is a mix-up and refused before any
 * token request.
 */
function issuerMismatch(
  provider: TProvider,
  settings: Record<string, unknown>,
  params: URLSearchParams,
): Failure | null {
  const expected = renderTemplate(provider, provider.callbackIssuer, { settings });
  return expected && params.get("iss") !== expected ? { reason: "issuer_mismatch" } : null;
}

/** How the result page names a tenant: the directory's domain from the admin's UPN (contoso.onmicrosoft.com), else the admin's name. */
function tenantLabel(t: { accountEmail: string | null; accountName: string | null } | null): string | null {
  const domain = t?.accountEmail?.split("@")[1];
  return domain || t?.accountName || null;
}
