// A token valid for at least `minValidity` seconds, refreshing only when needed. Inside one process
// concurrent callers for a connection share one refresh; across processes the lease decides who
// refreshes and the others wait for its result (told of it through Redis when it is configured,
// lib/tokens/refresh-signal.ts, else by polling). A token that is still valid is served even when a
// refresh attempt fails.
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { hotQueries, type ConnectionTokenRow } from "@/lib/db/hot-queries";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { openToken } from "@/lib/tokens/token-secrets";
import { refreshConnection, type RefreshOutcome } from "@/lib/tokens/refresh-connection";
import { heldCommit } from "@/lib/tokens/pending-commits";
import type { RefreshCommit } from "@/lib/tokens/commit-refresh";
import { listenForRefresh, type RefreshListener } from "@/lib/tokens/refresh-signal";

export type FreshToken = {
  accessToken: string;
  tokenType: string;
  expiresAt: Date;
  scopes: string[];
  tenantId: string | null;
  connectionId: string;
  /** false when the token lives less than the caller asked for */
  minValidityMet: boolean;
  /** why it does not: the provider failed to issue a newer one, or issues none that lives long enough */
  reason?: ShortReason;
};

export type ShortReason = "provider_unavailable" | "provider_lifetime_shorter";

function validity(
  expiresAt: Date,
  minValidity: number,
  why: ShortReason,
): Pick<FreshToken, "minValidityMet" | "reason"> {
  const met = expiresAt.getTime() - Date.now() >= minValidity * 1000;
  return met ? { minValidityMet: true } : { minValidityMet: false, reason: why };
}

const inFlight = new Map<string, Promise<RefreshOutcome>>();

/** concurrent callers share one refresh (its audit event carries the request id of the caller that started it) */
function singleFlight(
  db: Db,
  connectionId: string,
  ifVersion: number,
  requestId: string | undefined,
): Promise<RefreshOutcome> {
  let p = inFlight.get(connectionId);
  if (!p) {
    p = refreshConnection({ db, connectionId, reason: "on_demand", ifVersion, requestId }).finally(() =>
      inFlight.delete(connectionId),
    );
    inFlight.set(connectionId, p);
  }
  return p;
}

type WithTokens = ConnectionTokenRow & { accessTokenEnc: string; tokenType: string; version: number };
const hasTokens = (r: ConnectionTokenRow): r is WithTokens =>
  r.accessTokenEnc !== null && r.tokenType !== null && r.version !== null;

/** The connection and its token set in one prepared statement: the token endpoint's hot path (lib/db/hot-queries.ts). */
async function read(db: Db, organizationId: string, connectionId: string): Promise<ConnectionTokenRow | null> {
  return (await hotQueries(db).connectionWithTokens(connectionId, organizationId)) ?? null;
}

/**
 * The token of a refresh that is waiting for its commit (lib/tokens/pending-commits.ts): the newest
 * token there is, served from memory until the database has it.
 */
function answerHeld(
  organizationId: string,
  c: ConnectionTokenRow,
  held: RefreshCommit,
  minValidity: number,
): FreshToken {
  const expiresAt = new Date(held.state.expiresAt);
  return {
    ...validity(expiresAt, minValidity, "provider_lifetime_shorter"),
    accessToken: openToken({ organizationId, connectionId: c.id }, "accessTokenEnc", held.tokens.accessTokenEnc),
    tokenType: held.tokens.tokenType,
    expiresAt,
    scopes: (held.state.scopes ?? c.scopes).split(" ").filter(Boolean),
    tenantId: c.externalTenantId,
    connectionId: c.id,
  };
}

function answer(organizationId: string, c: WithTokens, minValidity: number, why: ShortReason): FreshToken {
  const expiresAt = c.expiresAt ?? new Date("9999-12-31T00:00:00Z");
  return {
    ...validity(expiresAt, minValidity, why),
    accessToken: openToken({ organizationId, connectionId: c.id }, "accessTokenEnc", c.accessTokenEnc),
    tokenType: c.tokenType,
    expiresAt,
    scopes: c.scopes.split(" ").filter(Boolean),
    tenantId: c.externalTenantId,
    connectionId: c.id,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** how often a caller looks again while another worker refreshes: polling, or (told through Redis) only in case a message was missed */
const POLL_MS = 150;
const POLL_WHEN_TOLD_MS = 1000;

export async function getFreshToken({
  db,
  organizationId,
  connectionId,
  minValidity = 300,
  waitMs = 20_000,
  requestId,
  read: alreadyRead,
  force = false,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  minValidity?: number;
  waitMs?: number;
  /** the API request asking: stored with the audit event of a refresh it causes */
  requestId?: string;
  /** the connection as the caller has just read it in this organization (null: none such), instead of a first read */
  read?: ConnectionTokenRow | null;
  /** the provider has just refused the stored token: refresh it even though it looks fresh (a token written meanwhile is the answer) */
  force?: boolean;
}): Promise<FreshToken> {
  const deadline = Date.now() + waitMs;
  let lastOutcome: RefreshOutcome | null = null;
  /** the token-set version this call found too old; a newer one written meanwhile (by any process) is the answer */
  let staleVersion: number | undefined;
  let first = alreadyRead;
  let listener: RefreshListener | null | undefined;
  try {
    for (;;) {
      const c = first !== undefined ? first : await read(db, organizationId, connectionId);
      first = undefined;
      if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
      if (c.status === "needs_reconsent" || c.status === "revoked" || c.status === "pending_consent" || !hasTokens(c)) {
        throw new AppError(
          "needs-reconsent",
          c.status === "pending_consent"
            ? "The connection has not been consented yet: send a consent link."
            : "The connection needs consent again: send a new consent link (POST /api/v1/connections/{id}/consent-link).",
          {
            extra: {
              reason:
                c.status === "revoked"
                  ? "revoked"
                  : c.status === "pending_consent"
                    ? "pending_consent"
                    : (c.lastErrorCode ?? "needs_reconsent"),
              connection_id: c.id,
            },
          },
        );
      }
      const now = Date.now();
      const held = heldCommit(c.id);
      if (held && held.organizationId === organizationId && Date.parse(held.state.expiresAt) > now)
        return answerHeld(organizationId, c, held, minValidity);
      const validFor = c.expiresAt ? (c.expiresAt.getTime() - now) / 1000 : Infinity;
      const provider = PROVIDERS.get(c.providerId);
      const refreshedMeanwhile = staleVersion !== undefined && c.version !== staleVersion && validFor > 0;
      const refusedByProvider = force && !refreshedMeanwhile && provider?.authKind !== "api_key";
      const fresh =
        !refusedByProvider && (validFor >= minValidity || provider?.authKind === "api_key" || refreshedMeanwhile);
      if (
        fresh ||
        (lastOutcome && lastOutcome.result === "failed" && validFor > 0) ||
        (lastOutcome?.result === "skipped" && validFor > 0)
      ) {
        return answer(
          organizationId,
          c,
          minValidity,
          lastOutcome?.result === "failed" ? "provider_unavailable" : "provider_lifetime_shorter",
        );
      }
      if (lastOutcome?.result === "failed") {
        throw new AppError(
          "refresh-failed",
          "The provider did not issue a fresh token; the previous one has expired. Retry later.",
          {
            retryAfter: lastOutcome.retryAfterSeconds ?? 30,
            extra: { reason: lastOutcome.failureClass, error_code: lastOutcome.errorCode },
          },
        );
      }
      if (lastOutcome?.result === "skipped")
        throw new AppError("refresh-failed", "This connection's token cannot be refreshed; consent again.", {
          retryAfter: 60,
          extra: { reason: lastOutcome.why },
        });
      if (Date.now() > deadline) {
        // the worker holding the lease has not finished (or its lease outlived it, e.g. the database
        // went away before it could be released): a token that still works beats an error
        if (validFor > 0) return answer(organizationId, c, minValidity, "provider_unavailable");
        throw new AppError("refresh-failed", "Another worker is still refreshing this connection. Retry shortly.", {
          retryAfter: 2,
          extra: { reason: "busy" },
        });
      }
      staleVersion ??= c.version;
      const outcome = await singleFlight(db, connectionId, staleVersion, requestId);
      if (outcome.result === "busy") {
        if (listener === undefined) {
          // listening from now on: look once more before waiting, so that an end announced meanwhile is not missed
          listener = await listenForRefresh(connectionId);
          if (listener) continue;
        }
        await (listener ? listener.wait(POLL_WHEN_TOLD_MS) : sleep(POLL_MS));
        continue;
      }
      lastOutcome = outcome.result === "refreshed" || outcome.result === "already_fresh" ? null : outcome;
      // held for its commit: the next round serves it from memory
      if (outcome.result === "refreshed" && outcome.held) continue;
      if (outcome.result === "refreshed" || outcome.result === "already_fresh") {
        // Re-read: if still not fresh enough (a provider issuing short tokens), return what we have.
        const again = await read(db, organizationId, connectionId);
        if (again && hasTokens(again) && again.expiresAt && again.expiresAt.getTime() > Date.now())
          return answer(organizationId, again, minValidity, "provider_lifetime_shorter");
      }
    }
  } finally {
    listener?.close();
  }
}
