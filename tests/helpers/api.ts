// Helpers for the REST API suites (tests/integration/api-*.test.ts): calls straight into
// handleApiRequest (the one function behind the Next route handlers and the production server's fast
// path), API keys in every state, problem+json checks, the consent flow a consent link starts, and a
// scan for secrets in anything the API or the audit trail produced.
import crypto from "node:crypto";
import { expect } from "vitest";
import type { Db } from "@/lib/db/client";
import { handleApiRequest } from "@/lib/api/handle-api-request";
import type { ApiRoute } from "@/lib/api/routes";
import { API_SCOPES, createApiKey, type TApiScope } from "@/lib/api-keys/create-api-key";
import { PROBLEM_BASE } from "@/lib/errors";
import { findOpenConsentLink, startConsent } from "@/lib/consent/start-consent";
import { completeConsent } from "@/lib/consent/complete-consent";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";

export const ALL_SCOPES: TApiScope[] = [...API_SCOPES];
const SYSTEM = { type: "system", label: "api test" } as const;

export type ApiResult = {
  status: number;
  headers: Record<string, string>;
  /** the raw body */
  text: string;
  /** the parsed JSON body (undefined when the body is not JSON) */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
};

export type CallOptions = {
  /** the API key sent as `Authorization: Bearer …`; null/undefined sends no Authorization header */
  key?: string | null;
  /** a JSON body (serialised, Content-Type: application/json) */
  body?: unknown;
  /** a raw body, sent as is */
  rawBody?: string;
  headers?: Record<string, string>;
  ip?: string;
};

/** One API call through handleApiRequest, as the server's fast path or a Next route handler would make it. */
export async function api(db: Db, method: string, pathAndQuery: string, opts: CallOptions = {}): Promise<ApiResult> {
  const headers = new Headers(opts.headers ?? {});
  if (opts.key) headers.set("authorization", `Bearer ${opts.key}`);
  let body: string | null = null;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const res = await handleApiRequest(db, {
    method,
    url: new URL(`http://x${pathAndQuery}`),
    headers,
    body,
    ip: opts.ip ?? "198.51.100.7",
  });
  // a streamed body (a content download) is read to its end
  const text = typeof res.body === "string" ? res.body : Buffer.concat(await res.body.toArray()).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k.toLowerCase(), v])),
    text,
    json,
  };
}

/** A route's concrete path, `{id}` filled in. */
export function pathOf(route: Pick<ApiRoute, "path">, id = "00000000-0000-4000-8000-000000000000"): string {
  return route.path
    .replace(/\{id\}/g, encodeURIComponent(id))
    .replace("{content_type}", "Audit.General")
    .replace("{content_id}", "content-1");
}

/** A syntactically valid request body for a route (the smallest one its schema accepts, or none). */
export function minimalBody(route: ApiRoute): unknown {
  if (route.id === "createConnection")
    return {
      provider: "generic-oauth2",
      name: "x",
      settings: { authorization_url: "https://as.example.com/auth", token_url: "https://as.example.com/token" },
      oauth_app: { client_id: "c" },
    };
  if (route.id === "startActivitySubscriptions") return { content_types: ["Audit.General"] };
  if (route.id === "updateConnection") return { name: "x" };
  if (route.id === "exportConnection") return { passphrase: "correct horse battery" };
  if (route.method === "GET" || route.method === "DELETE") return undefined;
  return {};
}

export type TestKey = { key: string; id: string; prefix: string };

/** An API key of `organizationId` (via lib's createApiKey), optionally expired or revoked afterwards. */
export async function newApiKey(
  db: Db,
  organizationId: string,
  scopes: TApiScope[] = ALL_SCOPES,
  state: "valid" | "expired" | "revoked" = "valid",
): Promise<TestKey> {
  const r = await createApiKey({
    db,
    organizationId,
    input: { name: `test ${state} ${scopes.join(",")}`, scopes },
    actor: SYSTEM,
  });
  if (state === "expired")
    await db.apiKey.update({ where: { id: r.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  if (state === "revoked") await db.apiKey.update({ where: { id: r.id }, data: { revokedAt: new Date() } });
  return { key: r.key, id: r.id, prefix: r.prefix };
}

/** A well-formed key that no database holds. */
export const unknownKey = () => `csk_${crypto.randomBytes(32).toString("base64url")}`;

export const problemType = (code: string) => `${PROBLEM_BASE}/${code}`;

/** An RFC 9457 answer with this status and stable type. */
export function expectProblem(res: ApiResult, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers["content-type"]).toBe("application/problem+json");
  expect(res.headers["cache-control"]).toBe("no-store");
  expect(res.json).toMatchObject({
    type: problemType(code),
    status,
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(res.headers["x-request-id"]).toBeTruthy();
}

const SECRET_KEY_NAMES =
  /^(client_secret|refresh_token|refresh_token_enc|access_token_enc|tokens?|token_set|tokenSet|secret|private_key(_pem)?|password|hash|api_key|id_token|pkce_verifier|.*_enc|.*Enc)$/i;

/** Every property name anywhere in a JSON value that names a secret (the token endpoint's `access_token` aside). */
export function secretFieldsIn(value: unknown, allow: string[] = []): string[] {
  const found: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (SECRET_KEY_NAMES.test(k) && !allow.includes(k)) found.push(`${path}.${k}`);
        walk(x, `${path}.${k}`);
      }
    }
  };
  walk(value, "$");
  return found;
}

/** No given secret value occurs in `text`. */
export function expectNoSecrets(text: string, secrets: Array<string | null | undefined>) {
  for (const s of secrets) if (s) expect(text.includes(s), `a secret (${s.slice(0, 8)}…) leaked`).toBe(false);
}

/** The audit rows of the given request ids, after flushing the batch buffer. */
export async function auditRowsFor(db: Db, requestIds: string[]) {
  await flushAuditBuffer();
  const rows = await db.auditEvent.findMany({ where: { requestId: { in: requestIds } } });
  return rows;
}

/** Every audit row of the database as text (for secret scans). */
export async function auditText(db: Db): Promise<string> {
  await flushAuditBuffer();
  return JSON.stringify(await db.auditEvent.findMany());
}

/** Asserts one audit row per response, action api.<routeId>, with the status in its details. */
export async function expectAudited(
  db: Db,
  calls: Array<{ res: ApiResult; routeId: string; organizationId: string | null }>,
) {
  // one api.* row per request (the lib functions a request ran record their own events under its request id too)
  const rows = (
    await auditRowsFor(
      db,
      calls.map((c) => c.res.headers["x-request-id"]!),
    )
  ).filter((r) => r.action.startsWith("api."));
  const byRequest = new Map(rows.map((r) => [r.requestId, r]));
  expect(rows).toHaveLength(calls.length);
  for (const { res, routeId, organizationId } of calls) {
    const row = byRequest.get(res.headers["x-request-id"]!);
    expect(row, `no audit row for ${routeId} → ${res.status}`).toBeDefined();
    expect(row!.action).toBe(`api.${routeId}`);
    expect(row!.organizationId).toBe(organizationId);
    expect(row!.outcome).toBe(
      res.status < 400 ? "success" : res.status === 401 || res.status === 403 ? "denied" : "failure",
    );
    expect(JSON.parse(row!.details)).toMatchObject({ status: res.status });
    // batched rows get time-ordered ids (UUIDv7) carrying their creation millisecond
    expect(row!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(row!.id.slice(0, 8) + row!.id.slice(9, 13), 16)).toBe(row!.createdAt.getTime());
  }
  return rows;
}

/**
 * What a tenant admin's browser does with a consent link, in lib terms (the /consent/{token}/start
 * route and the callback route): open the link, start the flow, let the provider (played by
 * `authorize`) redirect back, and complete the consent.
 */
export async function consentVia(db: Db, consentUrl: string, authorize: (authorizationUrl: string) => Promise<URL>) {
  const token = new URL(consentUrl).pathname.split("/").pop()!;
  const link = await findOpenConsentLink({ db, token });
  if (!link) throw new Error(`consent link ${consentUrl} is not open`);
  const browserSecret = crypto.randomBytes(32).toString("base64url");
  const { authorizationUrl } = await startConsent({
    db,
    consentRequestId: link.id,
    organizationId: link.organizationId,
    browserSecret,
    actor: { type: "anonymous", label: "tenant admin" },
  });
  let callback: URL;
  try {
    callback = await authorize(authorizationUrl);
  } catch (e) {
    // Node's keep-alive agent may reuse a socket the emulator closes at that very moment (both sides
    // use 5 s idle timeouts): the authorization request was not answered, so playing it again is safe.
    if ((e as NodeJS.ErrnoException).code !== "ECONNRESET") throw e;
    callback = await authorize(authorizationUrl);
  }
  const providerId = /\/api\/oauth\/callback\/([a-z0-9-]+)$/.exec(callback.pathname)?.[1];
  if (!providerId) throw new Error(`not a callback: ${callback}`);
  const outcome = await completeConsent({ db, providerId, params: callback.searchParams, browserSecret });
  if (!outcome.ok) throw new Error(`consent failed: ${JSON.stringify(outcome)}`);
  return outcome;
}
