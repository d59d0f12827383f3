// Structured JSON logs. Secret-bearing fields are redacted wherever they appear. A line about a
// request carries its id explicitly (`requestId`): no AsyncLocalStorage, whose promise hooks would
// cost every promise of the REST API's process (measured: about 10% of the token endpoint's req/s).
import { randomUUID } from "node:crypto";
import pino from "pino";
import { env } from "@/lib/env";
import { redactTokenShapes } from "@/lib/oauth/redact";

const SECRET_KEYS = [
  "password",
  "passwordHash",
  "secret",
  "client_secret",
  "clientSecret",
  "access_token",
  "accessToken",
  "refresh_token",
  "refreshToken",
  "id_token",
  "idToken",
  "code",
  "code_verifier",
  "codeVerifier",
  "state",
  "assertion",
  "client_assertion",
  "authorization",
  "Authorization",
  "cookie",
  "apiKey",
  "api_key",
  "key",
  "privateKey",
  "private_key_pem",
  "token",
];
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
];

const SAFE_REQUEST_ID = /^[\w.-]{1,128}$/;

/** A request's id: the caller's X-Request-Id when it is a safe token (letters, digits, `_.-`, up to 128), else a new one. */
export function requestIdFrom(header: string | null | undefined): string {
  return header && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * `err` as logged: an error's text may quote what a provider or a database driver said, so token- and
 * JWT-shaped runs are cut out of it (and out of the message, which pino takes from a logged error).
 * Runs only for lines that are written, and the token endpoint writes none when it succeeds.
 */
function serializeErr(value: unknown): unknown {
  const e = value instanceof Error ? pino.stdSerializers.err(value) : value;
  if (!e || typeof e !== "object") return typeof e === "string" ? redactTokenShapes(e) : e;
  const out: Record<string, unknown> = { ...(e as Record<string, unknown>) };
  for (const k of ["message", "stack"]) if (typeof out[k] === "string") out[k] = redactTokenShapes(out[k] as string);
  return out;
}

export function createLogger(destination?: pino.DestinationStream) {
  return pino(
    {
      level: env().logLevel,
      base: { service: "consentry" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      serializers: { err: serializeErr, msg: redactTokenShapes },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

const g = globalThis as unknown as { __consentryLogger?: pino.Logger };
/** The process's logger (the CLI swaps in a stderr one before anything logs: lib/cli/logs-to-stderr.ts). */
export const logger: pino.Logger = new Proxy({} as pino.Logger, {
  get(_t, prop) {
    const l = (g.__consentryLogger ??= createLogger());
    const v = (l as unknown as Record<PropertyKey, unknown>)[prop];
    return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(l) : v;
  },
});
