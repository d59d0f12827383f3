// Strict parsing of token-endpoint responses. Anything doubtful is refused, so nothing half-valid
// is ever stored: HTML, non-JSON, a 200 carrying `error` (Zoho), no access_token, no token_type,
// a garbage expires_in. `"expires_in":"3599"` (Azure v1) is fine.
import { z } from "zod";
import type { TProvider } from "@/lib/providers/schema";
import { TokenEndpointError, classifyOAuthError } from "@/lib/oauth/token-errors";

const MAX_LIFETIME_SECONDS = 24 * 3600;

export type TokenSetData = {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  tokenType: string;
  expiresAt: Date;
  refreshTokenExpiresAt: Date | null;
  scopes: string[] | null;
  metadata: Record<string, string>;
};

function parseSeconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "number" ? value : typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new TokenEndpointError("invalid_response", "invalid_response", `The provider sent an invalid ${field}.`);
  return Math.min(Math.floor(n), MAX_LIFETIME_SECONDS);
}

function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  const v = headers?.get("retry-after");
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(Number(v), 3600);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(3600, Math.ceil((at - Date.now()) / 1000)));
}

const ZErrorBody = z
  .object({
    error: z.string().min(1).max(200),
    error_description: z.string().optional(),
    // Azure sends numbers; accept numeric strings too rather than lose the classification.
    error_codes: z.array(z.union([z.number().int(), z.string().regex(/^\d{1,10}$/).transform(Number)])).optional(),
  })
  .loose();

/** Throws TokenEndpointError for any error response, classified. */
function throwIfError(status: number, body: unknown, headers?: Headers): void {
  const err = ZErrorBody.safeParse(body);
  if (err.success) {
    const codes = err.data.error_codes ?? [];
    const cls = classifyOAuthError(err.data.error, codes, status);
    throw new TokenEndpointError(cls, err.data.error, `The provider refused the request (${err.data.error}${codes.length ? `, AADSTS${codes.join("/")}` : ""}).`, {
      status,
      errorCodes: codes,
      retryAfterSeconds: retryAfterSeconds(headers),
      description: err.data.error_description?.slice(0, 500),
    });
  }
  if (status < 200 || status >= 300) {
    const cls = status === 429 || status >= 500 || status === 408 ? "retryable" : "invalid_response";
    throw new TokenEndpointError(cls, `http_${status}`, `The provider answered HTTP ${status}.`, { status, retryAfterSeconds: retryAfterSeconds(headers) });
  }
}

export function parseTokenResponse({
  provider,
  status,
  headers,
  text,
  requestedAt,
}: {
  provider: TProvider;
  status: number;
  headers?: Headers;
  text: string;
  /** when the request was sent: lifetimes count from here, so clock time spent in transit is not trusted */
  requestedAt: Date;
}): TokenSetData {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throwIfError(status, undefined, headers);
    throw new TokenEndpointError("invalid_response", "invalid_response", "The provider's token response is not JSON.", { status });
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throwIfError(status, undefined, headers);
    throw new TokenEndpointError("invalid_response", "invalid_response", "The provider's token response is not a JSON object.", { status });
  }
  throwIfError(status, normalizeError(provider, body as Record<string, unknown>), headers);
  const o = body as Record<string, unknown>;
  if (typeof o.access_token !== "string" || o.access_token.length === 0 || o.access_token.length > 16384) {
    throw new TokenEndpointError("invalid_response", "invalid_response", "The provider's token response has no access token.", { status });
  }
  if (typeof o.token_type !== "string" || o.token_type.toLowerCase() !== "bearer") {
    throw new TokenEndpointError("invalid_response", "invalid_response", "The provider's token response has no Bearer token_type.", { status });
  }
  const e = provider.expiry;
  let lifetime = parseSeconds(o[e.expiresInField], e.expiresInField);
  if (lifetime === undefined && e.expiresOnField) {
    // an absolute epoch: parsed unclamped (clamping it to 24 h as if it were a lifetime made every token expire at once)
    const on = parseSecondsUnclamped(o[e.expiresOnField], e.expiresOnField);
    if (on !== undefined) lifetime = Math.max(0, Math.min(MAX_LIFETIME_SECONDS, on - Math.floor(requestedAt.getTime() / 1000)));
  }
  // No lifetime in the response: the provider's documented default, never "forever", never more than a day.
  lifetime ??= Math.min(e.defaultLifetimeSeconds, MAX_LIFETIME_SECONDS);
  const refreshToken = typeof o.refresh_token === "string" && o.refresh_token.length > 0 ? o.refresh_token : null;
  let refreshTokenExpiresAt: Date | null = null;
  if (refreshToken) {
    // A zero or negative refresh lifetime is read as "not said" rather than refusing a valid access token.
    const rawRt = e.refreshExpiresInField ? o[e.refreshExpiresInField] : undefined;
    const notSaid = (typeof rawRt === "number" && rawRt <= 0) || (typeof rawRt === "string" && /^\s*(-\d+|0+)\s*$/.test(rawRt));
    const rtLifetime = notSaid || !e.refreshExpiresInField ? undefined : parseSecondsUnclamped(rawRt, e.refreshExpiresInField);
    const known = rtLifetime ?? e.refreshTokenLifetimeSeconds;
    if (known) refreshTokenExpiresAt = new Date(requestedAt.getTime() + known * 1000);
  }
  const metadata: Record<string, string> = {};
  for (const m of provider.tokenResponseMetadata) {
    const v = o[m.field];
    if (typeof v === "string" && new RegExp(m.allow).test(v)) metadata[m.field] = v;
    else if (v !== undefined) throw new TokenEndpointError("invalid_response", "invalid_response", `The provider sent an unexpected ${m.field}.`, { status });
  }
  const scope = typeof o.scope === "string" ? o.scope.split(/[\s,]+/).filter(Boolean) : null;
  return {
    accessToken: o.access_token,
    refreshToken,
    idToken: typeof o.id_token === "string" ? o.id_token : null,
    tokenType: "Bearer",
    expiresAt: new Date(requestedAt.getTime() + lifetime * 1000),
    refreshTokenExpiresAt,
    scopes: scope,
    metadata,
  };
}

/** Provider-specific error shapes → RFC 6749 `error` (catalogue: errorField, errorAliases). */
function normalizeError(provider: TProvider, o: Record<string, unknown>): Record<string, unknown> {
  if (typeof o.error === "string") return provider.errorAliases[o.error] ? { ...o, error: provider.errorAliases[o.error] } : o;
  if (!provider.errorField) return o;
  const v = o[provider.errorField];
  if (typeof v !== "string") return o;
  return { ...o, error: provider.errorAliases[v] ?? v.toLowerCase(), error_description: typeof o.message === "string" ? o.message : undefined };
}

function parseSecondsUnclamped(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "number" ? value : typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new TokenEndpointError("invalid_response", "invalid_response", `The provider sent an invalid ${field}.`);
  return Math.floor(n);
}
