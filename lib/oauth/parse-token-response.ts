// Strict parsing of token-endpoint responses. Anything doubtful is refused, so nothing half-valid
// is ever stored: HTML, non-JSON, a 200 carrying `error` (Zoho), no access_token, no token_type,
// a garbage expires_in. `"expires_in":"3599"` (Azure v1) is fine. Text from the provider (error code,
// description, scope) is redacted of the request's secrets before it goes anywhere (lib/oauth/redact.ts).
import { z } from "zod";
import type { TProvider } from "@/lib/providers/schema";
import { redactTokenShapes, type Redact } from "@/lib/oauth/redact";
import {
  TokenEndpointError,
  classifyErrorCodes,
  classifyHttpStatus,
  classifyOAuthError,
  readOAuthErrorCode,
} from "@/lib/oauth/token-errors";

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
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isFinite(n) || n <= 0)
    throw new TokenEndpointError("invalid_response", "invalid_response", `The provider sent an invalid ${field}.`);
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
    // any length: an overlong `error` is still an error (an unreadable one), never a success
    error: z.string().min(1),
    // not a string: still an error, only without a description
    error_description: z.unknown().optional(),
    // Azure sends numbers; accept numeric strings too rather than lose the classification.
    error_codes: z
      .array(
        z.union([
          z.number().int(),
          z
            .string()
            .regex(/^\d{1,10}$/)
            .transform(Number),
        ]),
      )
      .optional(),
  })
  .loose();

/**
 * Throws TokenEndpointError for any error response, classified. An `error` that is not a plain code
 * (an echo of the request, a secret, a token) is reported as `invalid_response` and classified as if
 * it were absent: by `error_codes`, then by the HTTP status.
 */
function throwIfError(
  provider: TProvider,
  status: number,
  body: unknown,
  headers: Headers | undefined,
  redact: Redact,
): void {
  const err = ZErrorBody.safeParse(body);
  if (err.success) {
    const codes = err.data.error_codes ?? [];
    const code = readOAuthErrorCode(err.data.error, redact);
    const cls = code
      ? classifyOAuthError(provider.errorCodes, code, codes, status)
      : (classifyErrorCodes(provider.errorCodes, codes) ?? classifyHttpStatus(status));
    const numbered = codes.length ? `${provider.errorCodePrefix}${codes.join("/")}` : "";
    const message = code
      ? `The provider refused the request (${code}${numbered ? `, ${numbered}` : ""}).`
      : `The provider refused the request with an unreadable error code${numbered ? ` (${numbered})` : ""}.`;
    const description =
      typeof err.data.error_description === "string" ? redact(err.data.error_description).slice(0, 500) : undefined;
    throw new TokenEndpointError(cls, code ?? "invalid_response", message, {
      status,
      errorCodes: codes,
      retryAfterSeconds: retryAfterSeconds(headers),
      description,
    });
  }
  if (status < 200 || status >= 300) {
    const details = { status, retryAfterSeconds: retryAfterSeconds(headers) };
    throw new TokenEndpointError(
      classifyHttpStatus(status),
      `http_${status}`,
      `The provider answered HTTP ${status}.`,
      details,
    );
  }
}

export function parseTokenResponse({
  provider,
  status,
  headers,
  text,
  requestedAt,
  redact = redactTokenShapes,
}: {
  provider: TProvider;
  status: number;
  headers?: Headers;
  text: string;
  /** when the request was sent: lifetimes count from here, so clock time spent in transit is not trusted */
  requestedAt: Date;
  /** scrubs the secrets of the request this answers (lib/oauth/token-request.ts builds it) */
  redact?: Redact;
}): TokenSetData {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throwIfError(provider, status, undefined, headers, redact);
    throw new TokenEndpointError("invalid_response", "invalid_response", "The provider's token response is not JSON.", {
      status,
    });
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throwIfError(provider, status, undefined, headers, redact);
    throw new TokenEndpointError(
      "invalid_response",
      "invalid_response",
      "The provider's token response is not a JSON object.",
      { status },
    );
  }
  throwIfError(provider, status, normalizeError(provider, body as Record<string, unknown>), headers, redact);
  const o = body as Record<string, unknown>;
  if (typeof o.access_token !== "string" || o.access_token.length === 0 || o.access_token.length > 16384) {
    throw new TokenEndpointError(
      "invalid_response",
      "invalid_response",
      "The provider's token response has no access token.",
      { status },
    );
  }
  if (typeof o.token_type !== "string" || o.token_type.toLowerCase() !== "bearer") {
    throw new TokenEndpointError(
      "invalid_response",
      "invalid_response",
      "The provider's token response has no Bearer token_type.",
      { status },
    );
  }
  const e = provider.expiry;
  let lifetime = parseSeconds(o[e.expiresInField], e.expiresInField);
  if (lifetime === undefined && e.expiresOnField) {
    // an absolute epoch: parsed unclamped (clamping it to 24 h as if it were a lifetime made every token expire at once)
    const on = parseSecondsUnclamped(o[e.expiresOnField], e.expiresOnField);
    if (on !== undefined)
      lifetime = Math.max(0, Math.min(MAX_LIFETIME_SECONDS, on - Math.floor(requestedAt.getTime() / 1000)));
  }
  // No lifetime in the response: the provider's documented default, never "forever", never more than a day.
  lifetime ??= Math.min(e.defaultLifetimeSeconds, MAX_LIFETIME_SECONDS);
  const refreshToken = typeof o.refresh_token === "string" && o.refresh_token.length > 0 ? o.refresh_token : null;
  let refreshTokenExpiresAt: Date | null = null;
  if (refreshToken) {
    // A zero or negative refresh lifetime is read as "not said" rather than refusing a valid access token.
    const rawRt = e.refreshExpiresInField ? o[e.refreshExpiresInField] : undefined;
    const notSaid =
      (typeof rawRt === "number" && rawRt <= 0) || (typeof rawRt === "string" && /^\s*(-\d+|0+)\s*$/.test(rawRt));
    const rtLifetime =
      notSaid || !e.refreshExpiresInField ? undefined : parseSecondsUnclamped(rawRt, e.refreshExpiresInField);
    const known = rtLifetime ?? e.refreshTokenLifetimeSeconds;
    if (known) refreshTokenExpiresAt = new Date(requestedAt.getTime() + known * 1000);
  }
  const metadata: Record<string, string> = {};
  for (const m of provider.tokenResponseMetadata) {
    const v = o[m.field];
    if (typeof v === "string" && new RegExp(m.allow).test(v)) metadata[m.field] = v;
    else if (v !== undefined)
      throw new TokenEndpointError(
        "invalid_response",
        "invalid_response",
        `The provider sent an unexpected ${m.field}.`,
        { status },
      );
  }
  // stored and returned by the API: an echoing provider could put the request here too
  const scope =
    typeof o.scope === "string"
      ? redact(o.scope)
          .split(/[\s,]+/)
          .filter(Boolean)
      : null;
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
  // own keys only: an `error` of "constructor" must not find Object.prototype's
  const alias = (v: string) => (Object.hasOwn(provider.errorAliases, v) ? provider.errorAliases[v] : undefined);
  if (typeof o.error === "string") return alias(o.error) ? { ...o, error: alias(o.error) } : o;
  if (!provider.errorField) return o;
  const v = o[provider.errorField];
  if (typeof v !== "string") return o;
  return {
    ...o,
    error: alias(v) ?? v.toLowerCase(),
    error_description: typeof o.message === "string" ? o.message : undefined,
  };
}

function parseSecondsUnclamped(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n =
    typeof value === "number" ? value : typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0)
    throw new TokenEndpointError("invalid_response", "invalid_response", `The provider sent an invalid ${field}.`);
  return Math.floor(n);
}
