// One function serves every REST API request, whoever received it (a Next route handler or the
// production server's fast path): request id, key-in-URL refusal, API-key authentication, scope,
// rate limits, zod parsing, the handler, problem+json for every error, an audit record per call
// (failed authentications: a tally per client address, lib/audit/auth-failure-audit.ts).
import type { Readable } from "node:stream";
import type { Db } from "@/lib/db/client";
import { AppError, asAppError, fieldErrors, toProblem } from "@/lib/errors";
import {
  authenticateApiKey,
  authenticateApiKeyWithConnection,
  refuseKeyInQuery,
  requireScope,
  type ApiPrincipal,
} from "@/lib/api-keys/authenticate-api-key";
import { checkApiRateLimits } from "@/lib/limits/api-rate-limit";
import { bufferAuditValues } from "@/lib/audit/audit-buffer";
import { noteAuthFailure } from "@/lib/audit/auth-failure-audit";
import { authFailureClient, authLockout, countAuthFailure } from "@/lib/api-keys/auth-failure-limit";
import { truncateDetail } from "@/lib/audit/record-audit-event";
import { redactTokenShapes } from "@/lib/oauth/redact";
import type { AuditValues, ConnectionTokenRow } from "@/lib/db/hot-queries";
import { englishMessage } from "@/lib/i18n/english";
import { logger, requestIdFrom } from "@/lib/logger";
import { matchRoute, safeDecode } from "@/lib/api/routes";
import { recordApiRequest } from "@/lib/metrics/metrics";

/** What the API reads of request headers (lower-case names): a Web `Headers` or a light view of Node's. */
export type HeaderReader = { get(name: string): string | null };
export type ApiRequest = { method: string; url: URL; headers: HeaderReader; body: string | null; ip: string | null };
export type ApiResponse = {
  status: number;
  headers: Record<string, string>;
  /** JSON text, or a stream for the routes that stream (ApiResult.stream) */
  body: string | Readable;
};

export const MAX_BODY = 64 * 1024;

const JSON_TYPE = "application/json; charset=utf-8";
const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };
const PRIVATE = { "cache-control": "private, no-cache" };

export function apiProblem(err: unknown, requestId: string): ApiResponse & { body: string } {
  if (err instanceof AppError && err.errors) {
    err = new AppError(err.code, englishMessage(err.message), {
      errors: err.errors.map((e) => ({ path: e.path, message: englishMessage(e.message, e.values) })),
      retryAfter: err.retryAfter,
      extra: err.extra,
    });
  }
  const body = toProblem(err, undefined);
  const headers: Record<string, string> = {
    "content-type": "application/problem+json",
    "cache-control": "no-store",
    "x-request-id": requestId,
  };
  if (err instanceof AppError && err.retryAfter !== undefined)
    headers["retry-after"] = String(Math.ceil(err.retryAfter));
  if (err instanceof AppError && err.allow) headers.allow = err.allow.join(", ");
  return { status: body.status, headers, body: JSON.stringify(body) };
}

/** 503s for a database that is away are logged once per interval with their count, not once per request. */
const unavailableLog = { at: 0, suppressed: 0 };
const UNAVAILABLE_LOG_EVERY_MS = 10_000;

/** An unexpected error as the AppError answered (503 when the database is away), logged. */
export function unexpectedApiError(err: unknown, routeId: string, requestId: string): AppError {
  const e = asAppError(err);
  if (e === err) return e;
  const log = { err: { message: (err as Error).message, stack: (err as Error).stack }, route: routeId, requestId };
  if (e.code !== "unavailable") logger.error(log, "API request failed");
  else if (Date.now() - unavailableLog.at < UNAVAILABLE_LOG_EVERY_MS) unavailableLog.suppressed++;
  else {
    logger.warn(
      { ...log, alsoUnavailableSinceLastLine: unavailableLog.suppressed },
      "API requests answered 503: the database is unavailable",
    );
    unavailableLog.at = Date.now();
    unavailableLog.suppressed = 0;
  }
  return e;
}

const CONNECTION_IN_PATH = /^\/api\/v1\/connections\/([^/]+)/;

/**
 * The audit record of an API call, built directly as the stored values (every call is audited, so
 * this skips the generic AuditInput → scrubDetails path; a unit test holds the two equal). The
 * connection the call was about is recorded even for calls refused before routing. No detail is
 * secret: the method, the path (never the query string) and the status.
 */
export function apiAuditValues(
  principal: ApiPrincipal | null,
  routeId: string,
  req: Pick<ApiRequest, "method" | "url" | "ip">,
  status: number,
  requestId: string,
  /** more non-secret details (the proxy's duration) */
  extra?: Record<string, unknown>,
): AuditValues {
  // a caller may have put a key or token in the path by mistake: never stored as sent
  const pathname = redactTokenShapes(req.url.pathname);
  const m = CONNECTION_IN_PATH.exec(pathname);
  const connectionId = m ? safeDecode(m[1]!)?.slice(0, 200) || null : null;
  return [
    principal?.organizationId ?? null,
    principal ? "api_key" : "anonymous",
    principal?.keyId ?? null,
    principal?.prefix ?? null,
    `api.${routeId}`,
    connectionId ? "connection" : null,
    connectionId,
    status < 400 ? "success" : status === 401 || status === 403 ? "denied" : "failure",
    req.ip ?? null,
    requestId,
    JSON.stringify({ method: req.method, path: truncateDetail(pathname), status, ...extra }),
  ];
}

export async function handleApiRequest(db: Db, req: ApiRequest): Promise<ApiResponse> {
  const started = performance.now();
  // the same id in the response, the audit records and the log lines of this call
  const requestId = requestIdFrom(req.headers.get("x-request-id"));
  const client = authFailureClient(req.ip);
  let principal: ApiPrincipal | null = null;
  let routeId = "unknown";
  let res: ApiResponse;
  let lockedOut = false;
  try {
    // an address that has used up its failed authentications is turned away before anything reads the database
    const lockout = await authLockout(client);
    if (lockout) {
      lockedOut = true;
      throw lockout;
    }
    const match = matchRoute(req.method, req.url.pathname);
    if (match && "route" in match) routeId = match.route.id;
    refuseKeyInQuery(req.url);
    if (!match) throw new AppError("not-found", `No API endpoint ${req.method} ${req.url.pathname}.`);
    if ("allow" in match)
      throw new AppError(
        "method-not-allowed",
        `Method ${req.method} is not allowed here; use ${match.allow.join(", ")}.`,
        {
          allow: match.allow,
        },
      );
    const { route, params } = match;
    routeId = route.id;
    const authorization = req.headers.get("authorization");
    let connection: ConnectionTokenRow | null | undefined;
    if (route.readsConnection && params.id !== undefined)
      ({ principal, connection } = await authenticateApiKeyWithConnection({
        db,
        authorization,
        connectionId: params.id,
      }));
    else principal = await authenticateApiKey({ db, authorization });
    requireScope(principal, route.scope);
    await checkApiRateLimits(principal);
    const parsedParams = route.params ? route.params.safeParse(params) : { success: true as const, data: params };
    if (!parsedParams.success) throw new AppError("not-found", "No such resource.");
    let query: unknown = {};
    if (route.query) {
      const q = route.query.safeParse(Object.fromEntries(req.url.searchParams));
      if (!q.success)
        throw new AppError("validation", "The query is not valid.", { errors: fieldErrors(q.error.issues) });
      query = q.data;
    }
    let body: unknown = undefined;
    if (route.body || route.bodyOptional) {
      if (req.body && req.body.length > MAX_BODY)
        throw new AppError("bad-request", "The request body is larger than 64 KiB.");
      let raw: unknown = {};
      if (req.body && req.body.trim()) {
        if (!(req.headers.get("content-type") ?? "").includes("json"))
          throw new AppError("bad-request", "Send the body as JSON (Content-Type: application/json).");
        try {
          raw = JSON.parse(req.body);
        } catch {
          throw new AppError("bad-request", "The request body is not valid JSON.");
        }
      }
      if (route.body) {
        const b = route.body.safeParse(raw);
        if (!b.success)
          throw new AppError("validation", "The request body is not valid.", { errors: fieldErrors(b.error.issues) });
        body = b.data;
      }
    }
    const out = await route.handler({
      db,
      principal,
      params: parsedParams.data as Record<string, string>,
      query,
      body,
      requestId,
      connection: (parsedParams.data as { id?: string }).id === params.id ? connection : undefined,
    });
    const headers = Object.assign(
      { "content-type": JSON_TYPE, "x-request-id": requestId },
      route.noStore ? NO_STORE : PRIVATE,
      out.headers,
    );
    res = { status: out.status, headers, body: out.stream ?? JSON.stringify(out.body) };
  } catch (err) {
    res = apiProblem(unexpectedApiError(err, routeId, requestId), requestId);
  }
  await recordApiCall({ db, client, lockedOut, principal, routeId, req, status: res.status, requestId, started });
  return res;
}

/**
 * The bookkeeping of every API call once its status is known: a failed authentication counts
 * against the client address (and is tallied, not audited row by row); anything else is audited.
 */
export async function recordApiCall(c: {
  db: Db;
  client: string;
  lockedOut: boolean;
  principal: ApiPrincipal | null;
  routeId: string;
  req: Pick<ApiRequest, "method" | "url" | "ip">;
  status: number;
  requestId: string;
  /** performance.now() when the call arrived */
  started: number;
  extra?: Record<string, unknown>;
}) {
  // only authentication answers 401 (and then there is no principal)
  if (c.lockedOut || (c.status === 401 && !c.principal)) {
    noteAuthFailure({
      db: c.db,
      client: c.client,
      refused: c.lockedOut,
      lockout: !c.lockedOut && (await countAuthFailure(c.client)),
    });
  } else bufferAuditValues(c.db, apiAuditValues(c.principal, c.routeId, c.req, c.status, c.requestId, c.extra));
  recordApiRequest(c.routeId, c.status, (performance.now() - c.started) / 1000);
}
