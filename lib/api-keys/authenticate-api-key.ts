// Bearer API-key authentication for the REST API. Unknown, malformed, expired and revoked keys all
// get the same 401; a key in the query string is refused outright (it would end up in logs).
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { hotQueries, type ApiKeyRow, type ConnectionTokenRow } from "@/lib/db/hot-queries";
import { hashApiKey, type TApiScope } from "@/lib/api-keys/create-api-key";
import { oncePer } from "@/lib/redis/once-per";

export type ApiPrincipal = { keyId: string; organizationId: string; scopes: ReadonlySet<string>; prefix: string };

const KEY_RE = /^csk_[A-Za-z0-9_-]{43}$/;
const QUERY_KEY_NAMES = new Set(["api_key", "apikey", "key", "access_token", "token", "authorization"]);
const LAST_USED_EVERY_MS = 60_000;
const lastUsedWritten = new Map<string, number>();

export function refuseKeyInQuery(url: URL) {
  if (!url.search) return; // no query: nothing to look at (and no URLSearchParams to build)
  for (const [k, v] of url.searchParams) {
    if (QUERY_KEY_NAMES.has(k.toLowerCase()) || v.startsWith("csk_")) {
      throw new AppError(
        "bad-request",
        "API keys go in the Authorization header (Authorization: Bearer csk_…), never in the URL. Revoke this key: it may have been logged.",
      );
    }
  }
}

// a key's scopes as a set, parsed once per distinct scope string (read-only: shared between calls)
const scopeSets = new Map<string, ReadonlySet<string>>();
function scopeSet(scopes: string): ReadonlySet<string> {
  let set = scopeSets.get(scopes);
  if (!set) {
    set = new Set(scopes.split(" "));
    if (scopeSets.size < 1000) scopeSets.set(scopes, set);
  }
  return set;
}

/** The hash of the Bearer key in an Authorization header; 401 when there is none or it cannot be a key. */
function bearerKeyHash(authorization: string | null): string {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!m) throw new AppError("unauthorized", "Send an API key: Authorization: Bearer csk_…");
  const key = m[1]!;
  if (!KEY_RE.test(key)) throw new AppError("unauthorized", "The API key is not valid.");
  return hashApiKey(key);
}

function principalOf(db: Db, row: ApiKeyRow | undefined, now: Date): ApiPrincipal {
  if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now))
    throw new AppError("unauthorized", "The API key is not valid (unknown, expired or revoked).");
  // last-used is informative: written at most once a minute per key (by one instance, with Redis), off the request's critical path.
  const last = lastUsedWritten.get(row.id) ?? 0;
  if (now.getTime() - last > LAST_USED_EVERY_MS) {
    lastUsedWritten.set(row.id, now.getTime());
    void oncePer(`key-used:${row.id}`, LAST_USED_EVERY_MS)
      .then(async (mine) => {
        if (mine) await db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: now } });
      })
      .catch(() => lastUsedWritten.delete(row.id));
  }
  return { keyId: row.id, organizationId: row.organizationId, scopes: scopeSet(row.scopes), prefix: row.prefix };
}

export async function authenticateApiKey({
  db,
  authorization,
  now = new Date(),
}: {
  db: Db;
  authorization: string | null;
  now?: Date;
}): Promise<ApiPrincipal> {
  // a prepared statement: the hot path of every API call (lib/db/hot-queries.ts)
  return principalOf(db, await hotQueries(db).apiKeyByHash(bearerKeyHash(authorization)), now);
}

/**
 * The same authentication, and in the same statement connection `connectionId` of the key's
 * organization with its token set (null when the organization has no such connection): the token
 * endpoint's one database read.
 */
export async function authenticateApiKeyWithConnection({
  db,
  authorization,
  connectionId,
  now = new Date(),
}: {
  db: Db;
  authorization: string | null;
  connectionId: string;
  now?: Date;
}): Promise<{ principal: ApiPrincipal; connection: ConnectionTokenRow | null }> {
  const r = await hotQueries(db).apiKeyWithConnection(bearerKeyHash(authorization), connectionId);
  return { principal: principalOf(db, r?.key, now), connection: r?.connection ?? null };
}

export function requireScope(p: ApiPrincipal, scope: TApiScope) {
  if (!p.scopes.has(scope))
    throw new AppError("forbidden", `This API key lacks the "${scope}" scope.`, { extra: { required_scope: scope } });
}
