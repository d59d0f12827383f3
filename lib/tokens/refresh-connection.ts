// Refreshes one connection under a lease: the refresh-token grant (to the refresh URL if there is
// one, else the token URL, with the provider's client authentication), or, for Microsoft app-only
// connections, a new client-credentials token. The provider's answer is committed durably (journal,
// one atomic write with a version check, held and retried if the database refuses it: see
// lib/tokens/pending-commits.ts). Failures are classified; none of them destroys the stored,
// still-valid token.
import type { Db } from "@/lib/db/client";
import { PROVIDERS } from "@/lib/providers/catalogue";
import type { TProvider } from "@/lib/providers/schema";
import { clientAuthMethod, hostOverridesFromMetadata, refreshTokenUrl } from "@/lib/providers/resolve-url";
import { requestToken } from "@/lib/oauth/token-request";
import { requestAppOnlyToken } from "@/lib/oauth/app-only-token";
import { TokenEndpointError, type TokenFailureClass } from "@/lib/oauth/token-errors";
import type { TokenSetData } from "@/lib/oauth/parse-token-response";
import { getAppCredentials, type AppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { openToken } from "@/lib/tokens/token-secrets";
import { claimLease, LEASE_MS, releaseLease } from "@/lib/tokens/lease";
import { MAX_QUICK_ATTEMPTS, nextRefreshAt } from "@/lib/tokens/next-refresh-at";
import { backoffMs } from "@/lib/backoff";
import { commitRefresh, sealRefreshTokens, type CommitResult, type RefreshCommit } from "@/lib/tokens/commit-refresh";
import type { ClaimedRow } from "@/lib/tokens/refresh-batch";
import { commitDurably, heldCommit } from "@/lib/tokens/pending-commits";
import { trackRefresh } from "@/lib/tokens/refresh-drain";
import { announceRefreshEnded } from "@/lib/tokens/refresh-signal";
import { PROCESS_ID } from "@/lib/tokens/process-id";
import { auditValues, recordAuditEvent, type Actor, type AuditInput } from "@/lib/audit/record-audit-event";
import { bufferAuditValues } from "@/lib/audit/audit-buffer";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { logger } from "@/lib/logger";
import { env } from "@/lib/env";
import { isDatabaseUnavailable, retryWhileUnavailable } from "@/lib/db/database-errors";
import { redactTokenShapes } from "@/lib/oauth/redact";
import { recordRefresh } from "@/lib/metrics/metrics";
import { takeProviderRefresh } from "@/lib/limits/provider-refresh-limit";

export { PROCESS_ID };

export type RefreshOutcome =
  | { result: "refreshed"; held?: true }
  | { result: "already_fresh" }
  | { result: "busy" }
  | { result: "skipped"; why: string }
  | { result: "failed"; failureClass: TokenFailureClass; errorCode: string; retryAfterSeconds?: number };

/** Token requests of an on-demand refresh (a caller is waiting) may take this long; the scheduler's, less. */
export const INTERACTIVE_DEADLINE_MS = 15_000;
export const SCHEDULED_DEADLINE_MS = 8_000;

type Options = {
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
  /** the token request's total deadline */
  deadlineMs?: number;
  /** who asked, for the audit (a user's "Refresh now"); by default the refresh engine itself */
  actor?: Actor;
};

/**
 * How a refresh reaches the database: one row at a time (on demand), or grouped with the other rows
 * of a scheduler's batch (lib/tokens/refresh-due.ts): app credentials read once per run, commits and
 * lease releases written a batch at a time, audit rows buffered.
 */
export type RefreshIo = {
  appCredentials: (appId: string, organizationId: string) => Promise<AppCredentials>;
  write: (commit: RefreshCommit) => Promise<CommitResult>;
  release: (connectionId: string) => Promise<void>;
  bufferedAudit: boolean;
};

function singleRowIo(db: Db, owner: string): RefreshIo {
  return {
    appCredentials: (appId, organizationId) => getAppCredentials({ db, appId, organizationId }),
    write: (commit) => commitRefresh({ db, commit }),
    release: (connectionId) => releaseLease({ db, connectionId, owner }),
    bufferedAudit: false,
  };
}

/** The connection as a refresh reads it (Prisma's row with its token set, or a claimed batch row). */
export type RefreshRow = Omit<ClaimedRow, "leaseUntil">;

export async function refreshConnection({
  db,
  connectionId,
  reason,
  owner = PROCESS_ID,
  now = () => new Date(),
  ifVersion,
  onlyIfDue = false,
  requestId,
  deadlineMs = INTERACTIVE_DEADLINE_MS,
  actor = { type: "system", label: "refresh" },
}: Options): Promise<RefreshOutcome> {
  // a refresh of this connection is still waiting for its commit: nothing may claim it meanwhile
  if (heldCommit(connectionId)) return busy(reason);
  if (!(await claimLease({ db, connectionId, owner, now: now() }))) return busy(reason);
  const o = { db, connectionId, reason, owner, now, ifVersion, onlyIfDue, deadlineMs };
  return runLeased(o, { ...actor, requestId: actor.requestId ?? requestId }, singleRowIo(db, owner), () =>
    db.connection.findUnique({ where: { id: connectionId }, include: { tokenSet: true } }),
  );
}

/**
 * The scheduler's refresh of a row it has claimed in a batch (lib/tokens/refresh-batch.ts). A row
 * that waited in its host's queue for half its lease first extends the lease (and is left alone if
 * the lease was lost meanwhile), so that no other worker can claim it while this one sends it.
 */
export async function refreshClaimed(
  row: ClaimedRow,
  o: { db: Db; owner: string; now: () => Date; deadlineMs: number; claimedAt: number; io: RefreshIo },
): Promise<RefreshOutcome> {
  const reason = "scheduled";
  // claimed although this process holds a commit for it (its lease ran out while the database was away):
  // the claim just renewed the held commit's lease, which must stay
  if (heldCommit(row.id)) return busy(reason);
  if (Date.now() - o.claimedAt > LEASE_MS / 2) {
    const { count } = await o.db.connection.updateMany({
      where: { id: row.id, leaseOwner: o.owner, leaseUntil: row.leaseUntil },
      data: { leaseUntil: new Date(o.now().getTime() + LEASE_MS) },
    });
    if (count !== 1) return busy(reason);
  }
  const leased = { ...o, connectionId: row.id, reason, onlyIfDue: true };
  return runLeased(leased, { type: "system", label: "refresh" }, o.io, async () => row);
}

function busy(reason: string): RefreshOutcome {
  recordRefresh(reason, { result: "busy" }, null);
  return { result: "busy" };
}

type Leased = { outcome: RefreshOutcome; leaseSettled: boolean };
const done = (outcome: RefreshOutcome): Leased => ({ outcome, leaseSettled: false });
type LeasedOptions = Required<
  Pick<Options, "db" | "connectionId" | "reason" | "owner" | "now" | "onlyIfDue" | "deadlineMs">
> & { ifVersion?: number };

/** Runs a refresh whose lease is held, and releases the lease unless the commit already did. */
async function runLeased(
  o: LeasedOptions,
  actor: Actor,
  io: RefreshIo,
  load: () => Promise<RefreshRow | null>,
): Promise<RefreshOutcome> {
  const { db, connectionId, owner } = o;
  const started = performance.now();
  return trackRefresh(
    (async () => {
      let leaseSettled = false;
      try {
        const c = await load();
        const r = c ? await refreshRow(c, { ...o, actor, io }) : done({ result: "skipped", why: "no tokens" });
        leaseSettled = r.leaseSettled;
        recordRefresh(o.reason, r.outcome, (performance.now() - started) / 1000);
        return r.outcome;
      } finally {
        // a commit releases the lease in the same write; a held one keeps it until it lands
        if (!leaseSettled)
          await io.release(connectionId).catch((err: Error) => {
            // the database went away: keep trying in the background for half the lease, so that callers
            // do not wait for it to run out once the database is back (after that it runs out by itself)
            logger.warn({ connectionId, err: { message: err.message } }, "lease not released yet");
            void retryWhileUnavailable(() => releaseLease({ db, connectionId, owner }), { forMs: LEASE_MS / 2 }).catch(
              () => undefined,
            );
          });
      }
    })(),
  ).finally(() => announceRefreshEnded(connectionId)); // waiters in other instances look again now
}

async function refreshRow(c: RefreshRow, o: LeasedOptions & { actor: Actor; io: RefreshIo }): Promise<Leased> {
  const { db, connectionId, now } = o;
  if (!c.tokenSet) return done({ result: "skipped", why: "no tokens" });
  // Checked under the lease, so the decision cannot race: whoever refreshed before us has committed.
  if (o.ifVersion !== undefined && c.tokenSet.version !== o.ifVersion) return done({ result: "already_fresh" });
  if (o.onlyIfDue && (!c.nextRefreshAt || c.nextRefreshAt > now())) return done({ result: "busy" });
  if (c.status === "revoked" || c.status === "needs_reconsent" || c.status === "pending_consent")
    return done({ result: "skipped", why: c.status });
  const provider = PROVIDERS.get(c.providerId);
  const refreshable = provider && provider.authKind === "oauth2" && c.oauthAppId;
  if (!refreshable || (!c.tokenSet.refreshTokenEnc && !(provider.appOnly && c.externalTenantId))) {
    // nothing to refresh with: stop scheduling; the token lives until it expires
    await db.connection.update({ where: { id: connectionId }, data: { nextRefreshAt: null } });
    return done({ result: "skipped", why: refreshable ? "no refresh token" : "not refreshable" });
  }
  // the provider's own limit of refresh grants (Zoho): beyond it, nothing is sent and nothing is recorded
  // as failed; the stored token stays as it is and is served while it works
  const wait = c.tokenSet.refreshTokenEnc ? await takeProviderRefresh(provider, connectionId) : null;
  if (wait !== null)
    return done({
      result: "failed",
      failureClass: "retryable",
      errorCode: "provider_refresh_limit",
      retryAfterSeconds: wait,
    });
  const started = now();
  let data: TokenSetData;
  try {
    data = await requestNewTokens({
      provider,
      c: { ...c, oauthAppId: c.oauthAppId!, tokenSet: c.tokenSet },
      app: () => o.io.appCredentials(c.oauthAppId!, c.organizationId),
      deadlineMs: o.deadlineMs,
    });
  } catch (e) {
    return done(await refreshFailed({ ...o, c, error: e, readVersion: c.tokenSet.version }));
  }

  const at = now();
  const commit = buildCommit({ c: { ...c, tokenSet: c.tokenSet }, provider, data, owner: o.owner, at });
  const onWritten = async () => {
    const audit: AuditInput = {
      organizationId: c.organizationId,
      actor: o.actor,
      action: "connection.refreshed",
      outcome: "success",
      target: { type: "connection", id: connectionId },
      details: { reason: o.reason, rotated: Boolean(data.refreshToken), ms: at.getTime() - started.getTime() },
    };
    if (o.io.bufferedAudit) bufferAuditValues(db, auditValues(audit));
    else await recordAuditEvent(audit, db);
    if (c.status === "error")
      await emitConnectionEvent({ db, organizationId: c.organizationId, connectionId, type: "connection.recovered" });
  };
  const r = await commitDurably({ db, commit, onWritten, write: o.io.write });
  if (r === "held") return { outcome: { result: "refreshed", held: true }, leaseSettled: true };
  return { outcome: r === "written" ? { result: "refreshed" } : { result: "already_fresh" }, leaseSettled: true };
}

/** What the refresh writes: the sealed tokens and the connection's next state (also what the journal keeps). */
function buildCommit({
  c,
  provider,
  data,
  owner,
  at,
}: {
  c: {
    id: string;
    organizationId: string;
    refreshTokenExpiresAt: Date | null;
    tokenSet: { version: number; refreshTokenEnc: string | null };
  };
  provider: TProvider;
  data: TokenSetData;
  owner: string;
  at: Date;
}): RefreshCommit {
  const refreshTokenExpiresAt = data.refreshToken ? data.refreshTokenExpiresAt : c.refreshTokenExpiresAt;
  const hasRefreshToken = Boolean(c.tokenSet.refreshTokenEnc || data.refreshToken);
  const next = nextRefreshAt({ provider, expiresAt: data.expiresAt, refreshTokenExpiresAt, hasRefreshToken, now: at });
  return {
    organizationId: c.organizationId,
    connectionId: c.id,
    readVersion: c.tokenSet.version,
    owner,
    tokens: sealRefreshTokens({ organizationId: c.organizationId, connectionId: c.id }, data),
    state: {
      expiresAt: data.expiresAt.toISOString(),
      refreshTokenExpiresAt: refreshTokenExpiresAt?.toISOString() ?? null,
      lastRefreshedAt: at.toISOString(),
      nextRefreshAt: next?.toISOString() ?? null,
      scopes: data.scopes ? data.scopes.join(" ") : null,
      // a refresh token that no longer expires within the warning horizon is announced again when it does
      clearExpiryWarning: Boolean(
        refreshTokenExpiresAt && refreshTokenExpiresAt.getTime() > at.getTime() + env().expiryWarningDays * 86400_000,
      ),
    },
  };
}

type Row = {
  organizationId: string;
  providerId: string;
  oauthAppId: string;
  settings: string;
  metadata: string;
  externalTenantId: string | null;
  tokenSet: { refreshTokenEnc: string | null };
};

/** The provider's new tokens: a refresh-token grant, or (Microsoft, no refresh token) an app-only token. */
async function requestNewTokens({
  provider,
  c,
  app: appCredentials,
  deadlineMs,
}: {
  provider: TProvider;
  c: Row & { id: string };
  app: () => Promise<AppCredentials>;
  deadlineMs: number;
}): Promise<TokenSetData> {
  const app = await appCredentials();
  if (!c.tokenSet.refreshTokenEnc)
    return requestAppOnlyToken({ provider, app, tenantId: c.externalTenantId!, timeoutMs: deadlineMs });
  const settings = JSON.parse(c.settings) as Record<string, unknown>;
  const metadata = JSON.parse(c.metadata) as Record<string, string>;
  const refreshToken = openToken(
    { organizationId: c.organizationId, connectionId: c.id },
    "refreshTokenEnc",
    c.tokenSet.refreshTokenEnc,
  );
  return requestToken({
    provider,
    url: refreshTokenUrl(provider, { settings, hostOverrides: hostOverridesFromMetadata(metadata), metadata }),
    // Seed 001's refresh body: grant_type, client_id, client_secret, refresh_token (+ Azure's resource).
    params: { grant_type: "refresh_token", refresh_token: refreshToken, ...provider.tokenParams },
    client: { clientId: app.clientId, clientSecret: app.clientSecret, method: clientAuthMethod(provider, settings) },
    timeoutMs: deadlineMs,
  });
}

type Conn = {
  id: string;
  organizationId: string;
  providerId: string;
  oauthAppId: string | null;
  refreshAttempts: number;
  status: string;
};
type Failure = {
  failureClass: TokenFailureClass;
  errorCode: string;
  message: string;
  retryAfterSeconds?: number;
  errorCodes?: number[];
};

/** Classifies a failed token request and records it; the stored token is never touched. */
async function refreshFailed(o: {
  db: Db;
  c: Conn;
  error: unknown;
  readVersion: number;
  reason: string;
  actor: Actor;
  now: () => Date;
}): Promise<RefreshOutcome> {
  const { db, c, error: e } = o;
  let f: Failure;
  if (e instanceof TokenEndpointError) {
    if (e.failureClass === "needs_reconsent" || e.failureClass === "consent_missing") {
      // Another process may have rotated the token while we held a stale copy: that is success.
      const current = await db.tokenSet.findUnique({ where: { connectionId: c.id }, select: { version: true } });
      if (current && current.version !== o.readVersion) return { result: "already_fresh" };
    }
    f = {
      failureClass: e.failureClass,
      errorCode: e.errorCode,
      message: e.message,
      retryAfterSeconds: e.details.retryAfterSeconds,
      errorCodes: e.details.errorCodes,
    };
  } else if (isDatabaseUnavailable(e)) {
    // nothing was sent: try again with backoff once the database answers
    f = {
      failureClass: "retryable",
      errorCode: "database_unavailable",
      message: "The database could not be reached; the refresh was not attempted.",
    };
  } else {
    // A local fault (decryption, expired certificate…): an alert on the app, never lose the token.
    logger.error(
      { connectionId: c.id, requestId: o.actor.requestId, err: { message: (e as Error).message } },
      "refresh failed before reaching the provider",
    );
    f = {
      failureClass: "app_misconfigured",
      errorCode: "local_error",
      message: redactTokenShapes((e as Error).message).slice(0, 300),
    };
  }
  try {
    await recordFailure({ ...o, f });
  } catch (err) {
    logger.error(
      { connectionId: c.id, err: { message: (err as Error).message } },
      "refresh failure not recorded (the stored token is untouched)",
    );
  }
  return {
    result: "failed",
    failureClass: f.failureClass,
    errorCode: f.errorCode,
    retryAfterSeconds: f.retryAfterSeconds,
  };
}

async function recordFailure({
  db,
  c,
  reason,
  actor,
  f,
  now,
}: {
  db: Db;
  c: Conn;
  reason: string;
  actor: Actor;
  f: Failure;
  now: () => Date;
}) {
  const at = now();
  const organizationId = c.organizationId;
  const base = {
    lastErrorCode: f.failureClass === "consent_missing" ? "consent_missing" : f.errorCode,
    lastErrorMessage: f.message.slice(0, 500),
    lastErrorAt: at,
  };
  if (f.failureClass === "needs_reconsent" || f.failureClass === "consent_missing") {
    await db.connection.update({
      where: { id: c.id },
      data: { ...base, status: "needs_reconsent", nextRefreshAt: null },
    });
    await emitConnectionEvent({
      db,
      organizationId,
      connectionId: c.id,
      type: "connection.needs_reconsent",
      data: { reason: f.failureClass, errorCode: f.errorCode },
    });
  } else if (f.failureClass === "app_misconfigured" || f.failureClass === "clock_skew") {
    // The app's credentials (or our clock) are wrong, not the connection: alert operators on the app,
    // leave the connection's status alone, look again in an hour.
    if (c.oauthAppId)
      await db.oAuthApp.update({
        where: { id: c.oauthAppId },
        data: {
          // the provider's own spelling of its numeric codes (Microsoft: AADSTS7000215)
          alertCode: f.errorCodes?.length
            ? `${PROVIDERS.get(c.providerId)?.errorCodePrefix ?? ""}${f.errorCodes[0]}`
            : f.errorCode,
          alertMessage: f.message.slice(0, 500),
          alertAt: at,
        },
      });
    await db.connection.update({
      where: { id: c.id },
      data: { ...base, nextRefreshAt: new Date(at.getTime() + 3600_000) },
    });
  } else {
    const attempts = c.refreshAttempts + 1;
    await db.connection.update({
      where: { id: c.id },
      data: {
        ...base,
        refreshAttempts: attempts,
        nextRefreshAt: new Date(at.getTime() + backoffMs(attempts, f.retryAfterSeconds)),
        ...(attempts >= MAX_QUICK_ATTEMPTS ? { status: "error" } : {}),
      },
    });
    if (attempts === MAX_QUICK_ATTEMPTS)
      await emitConnectionEvent({
        db,
        organizationId,
        connectionId: c.id,
        type: "connection.refresh_failed",
        data: { errorCode: f.errorCode, attempts },
      });
  }
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connection.refresh_failed",
      outcome: "failure",
      target: { type: "connection", id: c.id },
      details: { reason, failureClass: f.failureClass, errorCode: f.errorCode, errorCodes: f.errorCodes },
    },
    db,
  );
}
