// One error type for the whole app, mapped to RFC 9457 problem+json by one table.
import { isDatabaseUnavailable } from "@/lib/db/database-errors";
export const PROBLEM_BASE = "https://consentry.dev/problems";

const TABLE = {
  unauthorized: { status: 401, title: "Authentication required" },
  forbidden: { status: 403, title: "Not allowed" },
  "not-found": { status: 404, title: "Not found" },
  conflict: { status: 409, title: "Conflict" },
  "needs-reconsent": { status: 409, title: "The connection needs consent again" },
  validation: { status: 422, title: "The request is not valid" },
  "bad-request": { status: 400, title: "Bad request" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  "payload-too-large": { status: 413, title: "Request body too large" },
  "uri-too-long": { status: 414, title: "Request target too long" },
  "unsupported-media-type": { status: 415, title: "Unsupported media type" },
  "rate-limited": { status: 429, title: "Too many requests" },
  "refresh-failed": { status: 502, title: "The provider did not refresh the token" },
  "bad-gateway": { status: 502, title: "The provider could not be reached" },
  "gateway-timeout": { status: 504, title: "The provider did not answer in time" },
  unavailable: { status: 503, title: "Service unavailable" },
  internal: { status: 500, title: "Internal error" },
} as const;

export type ErrorCode = keyof typeof TABLE;
/** `message`: a message key (validation.*) or English text; `values`: the key's placeholders. */
export type FieldError = { path: string; message: string; values?: Record<string, string | number> };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors?: FieldError[];
  readonly retryAfter?: number;
  /** method-not-allowed: the methods the resource takes (the Allow header) */
  readonly allow?: string[];
  readonly extra?: Record<string, unknown>;
  /** Message key (and values) for the portal's translated message; `message` stays the English text. */
  readonly i18n?: { key: string; values?: Record<string, string | number> };

  constructor(
    code: ErrorCode,
    /** Safe to show to the caller: never include secrets or upstream bodies. */
    message: string,
    opts: {
      errors?: FieldError[];
      retryAfter?: number;
      allow?: string[];
      extra?: Record<string, unknown>;
      cause?: unknown;
      i18n?: { key: string; values?: Record<string, string | number> };
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.status = TABLE[code].status;
    this.errors = opts.errors;
    this.retryAfter = opts.retryAfter;
    this.allow = opts.allow;
    this.extra = opts.extra;
    this.i18n = opts.i18n;
  }
}

/** What fieldErrors reads of a zod issue (zod 4's own fields; `code` absent for hand-made issues). */
type TIssue = {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  code?: string;
  origin?: string;
  format?: string;
  maximum?: unknown;
  minimum?: unknown;
  expected?: unknown;
  keys?: ReadonlyArray<string>;
};

/** A message key (e.g. "validation.nameRequired"), as schemas give them, rather than zod's own English. */
const MESSAGE_KEY = /^[a-z][A-Za-z]*(\.[A-Za-z_]+)+$/;

/**
 * A zod issue without a message key of its own → a validation.* key and its values, so people read
 * "Enter at most 512 characters." in their language instead of zod's "Too big: expected string to
 * have <=512 characters". Issues that carry a key (or hand-made ones) keep their message.
 */
function issueMessage(i: TIssue): Pick<FieldError, "message" | "values"> {
  if (!i.code || MESSAGE_KEY.test(i.message)) return { message: i.message };
  const n = (v: unknown) => (typeof v === "number" || typeof v === "bigint" ? Number(v) : String(v));
  const many = i.origin === "array" || i.origin === "set" || i.origin === "map";
  const text = i.origin === "string";
  switch (i.code) {
    case "too_big":
      if (text) return { message: "validation.tooLong", values: { max: n(i.maximum) } };
      if (many) return { message: "validation.tooMany", values: { max: n(i.maximum) } };
      return { message: "validation.tooBig", values: { max: n(i.maximum) } };
    case "too_small":
      if (text)
        return n(i.minimum) === 1
          ? { message: "validation.required" }
          : { message: "validation.tooShort", values: { min: n(i.minimum) } };
      if (many) return { message: "validation.tooFew", values: { min: n(i.minimum) } };
      return { message: "validation.tooSmall", values: { min: n(i.minimum) } };
    case "invalid_type":
      // zod says "received undefined" for a field that is not there at all
      return /received undefined$/.test(i.message)
        ? { message: "validation.required" }
        : { message: "validation.invalidType", values: { expected: String(i.expected ?? "?") } };
    case "invalid_format":
      if (i.format === "email") return { message: "validation.email" };
      if (i.format === "url") return { message: "validation.url" };
      return { message: "validation.format" };
    case "invalid_value":
      return { message: "validation.invalidChoice" };
    case "unrecognized_keys":
      return { message: "validation.unknownKeys", values: { keys: (i.keys ?? []).join(", ") } };
    case "invalid_key":
      return { message: "validation.invalidKey" };
    default:
      return { message: "validation.invalid" };
  }
}

/** zod issues → field errors with dotted paths, in message keys people can read in their language. */
export function fieldErrors(issues: ReadonlyArray<TIssue>): FieldError[] {
  return issues.map((i) => ({ path: i.path.map(String).join("."), ...issueMessage(i) }));
}

/** Seconds a caller is told to wait (Retry-After) when the database is away. */
export const DB_RETRY_AFTER_SECONDS = 5;

/**
 * Any thrown value as an AppError: a database that cannot be reached is 503 + Retry-After (the caller
 * retries later), never a 500; anything else unexpected is a 500 whose cause is never echoed.
 */
export function asAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err))
    return new AppError(
      "unavailable",
      "The database is unavailable for a moment. Retry after the time in Retry-After.",
      { retryAfter: DB_RETRY_AFTER_SECONDS },
    );
  return new AppError(
    "internal",
    "Something went wrong on our side. Try again; if it persists, tell the operators the request id.",
  );
}

/** The problem+json body for any thrown value. Unexpected errors are never echoed. */
export function toProblem(err: unknown, instance?: string) {
  const e = asAppError(err);
  return {
    type: `${PROBLEM_BASE}/${e.code}`,
    title: TABLE[e.code].title,
    status: e.status,
    detail: e.message,
    ...(instance ? { instance } : {}),
    ...(e.errors ? { errors: e.errors.map(({ path, message }) => ({ path, message })) } : {}),
    ...(e.extra ?? {}),
  };
}

export function problemResponse(err: unknown, opts: { requestId?: string; instance?: string } = {}): Response {
  const e = asAppError(err);
  const body = toProblem(e, opts.instance);
  const headers = new Headers({ "content-type": "application/problem+json", "cache-control": "no-store" });
  if (opts.requestId) headers.set("x-request-id", opts.requestId);
  if (e.retryAfter !== undefined) headers.set("retry-after", String(Math.ceil(e.retryAfter)));
  if (e.allow) headers.set("allow", e.allow.join(", "));
  return new Response(JSON.stringify(body), { status: body.status, headers });
}
