// What went wrong at a token endpoint, classified from `error` and the provider's numeric error codes
// (its catalogue table) — never from description text, which is shown to nobody but operators, escaped.
import { redactTokenShapes, type Redact } from "@/lib/oauth/redact";
import { ZErrorCodeClass, type TErrorCodeTable } from "@/lib/providers/schema";

export type TokenFailureClass =
  /** the grant is dead: the data owner must consent again */
  | "needs_reconsent"
  /** consent was never given or was withdrawn */
  | "consent_missing"
  /** our side is misconfigured: bad client secret or certificate; an operator must act */
  | "app_misconfigured"
  /** clocks disagree (Microsoft's AADSTS700024) */
  | "clock_skew"
  /** worth retrying later: network, timeout, 5xx, 429, throttling */
  | "retryable"
  /** the response was not a usable token response */
  | "invalid_response";

export class TokenEndpointError extends Error {
  constructor(
    readonly failureClass: TokenFailureClass,
    /** OAuth `error` or our own code (e.g. "invalid_response", "timeout") */
    readonly errorCode: string,
    message: string,
    readonly details: { status?: number; errorCodes?: number[]; retryAfterSeconds?: number; description?: string } = {},
  ) {
    super(message);
    this.name = "TokenEndpointError";
  }
}

/**
 * The class a provider's numeric error code decides (its catalogue `errorCodes`), whatever `error` says;
 * the first listed code in the response wins, and null when the table lists none of them.
 */
export function classifyErrorCodes(table: TErrorCodeTable, errorCodes: number[]): TokenFailureClass | null {
  for (const code of errorCodes) for (const cls of ZErrorCodeClass.options) if (table[cls]?.includes(code)) return cls;
  return null;
}

/** A failure known only by its HTTP status (no readable `error`): 408, 429 and 5xx are worth retrying; anything else is no usable answer. */
export function classifyHttpStatus(status: number): TokenFailureClass {
  return status === 408 || status === 429 || status >= 500 ? "retryable" : "invalid_response";
}

export function classifyOAuthError(
  table: TErrorCodeTable,
  error: string,
  errorCodes: number[],
  status: number,
): TokenFailureClass {
  const byCode = classifyErrorCodes(table, errorCodes);
  if (byCode) return byCode;
  if (status === 429 || status >= 500) return "retryable";
  switch (error) {
    case "invalid_grant":
      return "needs_reconsent";
    case "consent_required":
    case "access_denied":
    case "interaction_required":
      return "consent_missing";
    case "invalid_client":
    case "unauthorized_client":
    case "unsupported_grant_type":
    case "invalid_scope":
      return "app_misconfigured";
    case "temporarily_unavailable":
    case "server_error":
    case "slow_down":
      return "retryable";
    default:
      // Unknown codes are retried a bounded number of times, then alerted (lib/tokens decides).
      return "retryable";
  }
}

/**
 * RFC 6749 §5.2 allows printable ASCII but for `"` and `\`. A stricter set (the characters of the RFC's
 * own codes) keeps an echoed request, with its "=", "&", spaces and line breaks, from passing as a code;
 * a provider with codes outside it gets a catalogue alias (Zoho's "Access Denied").
 */
const ERROR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A provider's `error` as a code Consentry may store and show, or null: wrong characters, too long, or holding a secret or a token. */
export function readOAuthErrorCode(value: unknown, redact: Redact = redactTokenShapes): string | null {
  if (typeof value !== "string" || !ERROR_CODE.test(value)) return null;
  return redact(value) === value ? value : null;
}
