// Structured JSON logs. Secret-bearing fields are redacted wherever they appear, and every line
// written inside a request carries that request's id.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import pino from "pino";
import { env } from "@/lib/env";

const SECRET_KEYS = [
  "password", "passwordHash", "secret", "client_secret", "clientSecret", "access_token", "accessToken",
  "refresh_token", "refreshToken", "id_token", "idToken", "code", "code_verifier", "codeVerifier", "state",
  "assertion", "client_assertion", "authorization", "Authorization", "cookie", "apiKey", "api_key", "key",
  "privateKey", "private_key_pem", "token",
];
export const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), ...SECRET_KEYS.map((k) => `*.*.${k}`)];

const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Runs `fn` with a request id that every log line inside it carries: the caller's when it is a safe
 * token (letters, digits, `_.-`, up to 128), else a new one (`currentRequestId()` tells which).
 */
export function withRequestId<T>(requestId: string | null | undefined, fn: () => T): T {
  return requestContext.run({ requestId: requestId && /^[\w.-]{1,128}$/.test(requestId) ? requestId : randomUUID() }, fn);
}

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

export function createLogger(destination?: pino.DestinationStream) {
  return pino(
    {
      level: env().logLevel,
      base: { service: "consentry" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
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
