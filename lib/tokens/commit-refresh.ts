// Writes a refresh's result — the new token set and the connection's new state — atomically, only if
// the token set is still the version the refresh read, and releases the refresher's lease with it.
//
// No interactive transaction: on PostgreSQL an interactive (or batch) transaction must get a pooled
// connection within Prisma's maxWait (2 s), and under pool pressure it failed *after* the provider had
// already rotated the refresh token, losing the connection. Here PostgreSQL gets ONE statement (a
// data-modifying CTE: atomic by itself, it just queues for a connection like any query); SQLite, whose
// one connection is guarded by a mutex, gets a short batch transaction. Callers that still see an
// error keep the commit and retry it (lib/tokens/pending-commits.ts).
//
// Everything in a RefreshCommit is serialisable and holds no plaintext secret (the tokens are already
// sealed to their TokenSet row), so the same object is what the refresh journal stores.
import type { Db } from "@/lib/db/client";
import { databaseUrlOf } from "@/lib/db/hot-queries";
import type { TokenSetData } from "@/lib/oauth/parse-token-response";
import { sealToken } from "@/lib/tokens/token-secrets";

export type RefreshCommit = {
  organizationId: string;
  connectionId: string;
  /** the token-set version the refresh read: the write happens only if it is still current */
  readVersion: number;
  /** the lease holder (released by the same write) */
  owner: string;
  tokens: { accessTokenEnc: string; refreshTokenEnc: string | null; idTokenEnc: string | null; tokenType: string };
  state: {
    expiresAt: string;
    refreshTokenExpiresAt: string | null;
    lastRefreshedAt: string;
    nextRefreshAt: string | null;
    /** granted scopes the provider returned (null: keep the stored ones) */
    scopes: string | null;
    /** the refresh token's expiry is no longer near: announce it again when it is */
    clearExpiryWarning: boolean;
  };
};

export type CommitResult = "written" | "superseded";

/** Seals the provider's answer for the commit (and the journal). */
export function sealRefreshTokens(
  owner: { organizationId: string; connectionId: string },
  data: TokenSetData,
): RefreshCommit["tokens"] {
  return {
    accessTokenEnc: sealToken(owner, "accessTokenEnc", data.accessToken),
    refreshTokenEnc: data.refreshToken ? sealToken(owner, "refreshTokenEnc", data.refreshToken) : null,
    idTokenEnc: data.idToken ? sealToken(owner, "idTokenEnc", data.idToken) : null,
    tokenType: data.tokenType,
  };
}

const date = (v: string | null) => (v === null ? null : new Date(v));

export async function commitRefresh({ db, commit }: { db: Db; commit: RefreshCommit }): Promise<CommitResult> {
  return databaseUrlOf(db).startsWith("file:") ? commitSqlite(db, commit) : commitPostgres(db, commit);
}

// `timestamp(3)` columns hold UTC wall-clock time: ISO text, whose zone PostgreSQL ignores for this type.
const PG_COMMIT_SQL = `
WITH t AS (
  UPDATE "TokenSet" SET "accessTokenEnc" = $3, "refreshTokenEnc" = COALESCE($4, "refreshTokenEnc"), "idTokenEnc" = COALESCE($5, "idTokenEnc"),
    "tokenType" = $6, "version" = "version" + 1, "updatedAt" = $7::timestamp(3)
  WHERE "connectionId" = $1 AND "organizationId" = $2 AND "version" = $8
  RETURNING "connectionId"
), c AS (
  UPDATE "Connection" SET "status" = 'active', "expiresAt" = $9::timestamp(3), "refreshTokenExpiresAt" = $10::timestamp(3), "lastRefreshedAt" = $7::timestamp(3),
    "nextRefreshAt" = $11::timestamp(3), "refreshAttempts" = 0, "lastErrorCode" = NULL, "lastErrorMessage" = NULL, "lastErrorAt" = NULL,
    "refreshTokenWarnedAt" = CASE WHEN $12 THEN NULL ELSE "refreshTokenWarnedAt" END, "scopes" = COALESCE($13, "scopes"), "updatedAt" = $7::timestamp(3),
    "leaseOwner" = CASE WHEN "leaseOwner" = $14 THEN NULL ELSE "leaseOwner" END, "leaseUntil" = CASE WHEN "leaseOwner" = $14 THEN NULL ELSE "leaseUntil" END
  WHERE "id" IN (SELECT "connectionId" FROM t)
  RETURNING "id"
), released AS (
  -- a row is updated once per statement: the written row's lease goes with the write (above), a superseded one's here
  UPDATE "Connection" SET "leaseOwner" = NULL, "leaseUntil" = NULL WHERE "id" = $1 AND "leaseOwner" = $14 AND NOT EXISTS (SELECT 1 FROM t)
  RETURNING "id"
)
SELECT (SELECT count(*) FROM c)::int AS "written"`;

async function commitPostgres(db: Db, m: RefreshCommit): Promise<CommitResult> {
  const s = m.state;
  const rows = await db.$queryRawUnsafe<Array<{ written: number }>>(
    PG_COMMIT_SQL,
    m.connectionId,
    m.organizationId,
    m.tokens.accessTokenEnc,
    m.tokens.refreshTokenEnc,
    m.tokens.idTokenEnc,
    m.tokens.tokenType,
    s.lastRefreshedAt,
    m.readVersion,
    s.expiresAt,
    s.refreshTokenExpiresAt,
    s.nextRefreshAt,
    s.clearExpiryWarning,
    s.scopes,
    m.owner,
  );
  return Number(rows[0]?.written ?? 0) === 1 ? "written" : "superseded";
}

async function commitSqlite(db: Db, m: RefreshCommit): Promise<CommitResult> {
  const s = m.state;
  const at = new Date(s.lastRefreshedAt);
  // Both updates test the same pre-state (the version read), inside one SQLite transaction: both or
  // neither. (Its maxWait is for the mutex of SQLite's one connection, set long in lib/db/client.ts.)
  const [, tokens] = await db.$transaction([
    db.connection.updateMany({
      where: { id: m.connectionId, organizationId: m.organizationId, tokenSet: { is: { version: m.readVersion } } },
      data: {
        status: "active",
        expiresAt: new Date(s.expiresAt),
        refreshTokenExpiresAt: date(s.refreshTokenExpiresAt),
        lastRefreshedAt: at,
        nextRefreshAt: date(s.nextRefreshAt),
        refreshAttempts: 0,
        lastErrorCode: null,
        lastErrorMessage: null,
        lastErrorAt: null,
        ...(s.clearExpiryWarning ? { refreshTokenWarnedAt: null } : {}),
        ...(s.scopes !== null ? { scopes: s.scopes } : {}),
      },
    }),
    db.tokenSet.updateMany({
      where: { connectionId: m.connectionId, organizationId: m.organizationId, version: m.readVersion },
      data: {
        accessTokenEnc: m.tokens.accessTokenEnc,
        ...(m.tokens.refreshTokenEnc ? { refreshTokenEnc: m.tokens.refreshTokenEnc } : {}),
        ...(m.tokens.idTokenEnc ? { idTokenEnc: m.tokens.idTokenEnc } : {}),
        tokenType: m.tokens.tokenType,
        version: { increment: 1 },
      },
    }),
    db.connection.updateMany({
      where: { id: m.connectionId, leaseOwner: m.owner },
      data: { leaseOwner: null, leaseUntil: null },
    }),
  ]);
  return tokens.count === 1 ? "written" : "superseded";
}
