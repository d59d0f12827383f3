// The provider proxy: /api/v1/connections/{id}/proxy/{path…} forwards a job's request to the
// connection's provider API with a fresh credential injected, so that the job never holds a token.
// The request goes to the catalogue's API base (`apiBaseUrl`) and below its path only, through the
// egress guard; the answer is streamed back as the provider gave it, marked `Consentry-Proxy: provider`,
// with the credential masked wherever the provider echoes it. Consentry's own failures are problem+json.
import { allSettings, apiHeaders } from "@/lib/connections/secret-settings";
import { Transform, type Readable } from "node:stream";
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { logger, requestIdFrom } from "@/lib/logger";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { applyHostOverrides, renderTemplate } from "@/lib/providers/resolve-url";
import { EgressError, egressStream, type EgressStreamResponse } from "@/lib/oauth/egress";
import { authenticateApiKey, requireScope, type ApiPrincipal } from "@/lib/api-keys/authenticate-api-key";
import { authFailureClient, authLockout } from "@/lib/api-keys/auth-failure-limit";
import { checkApiRateLimits } from "@/lib/limits/api-rate-limit";
import { apiProblem, recordApiCall, unexpectedApiError } from "@/lib/api/handle-api-request";
import { recordProxyRequest } from "@/lib/metrics/metrics";
import { CLIENT_IP_HEADER } from "@/lib/http/client-ip";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { getAppOnlyToken } from "@/lib/tokens/get-app-only-token";

export const PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** Largest request body the proxy forwards (it is kept in memory for the one retry after a 401). */
export const PROXY_MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** The whole proxied call: DNS, connect, upload, the answer's headers and its whole body. */
export const PROXY_TIMEOUT_MS = 60_000;

export type ProxyRequest = {
  method: string;
  /** the request target as received: path and query, not yet normalised */
  target: string;
  /** every request header, names in lower case */
  headers: Array<[string, string]>;
  /** the request body, or null for a request without one */
  body: Readable | null;
  ip: string | null;
};
export type ProxyResponse = {
  status: number;
  headers: Record<string, string | string[]>;
  /** a problem+json text, or the provider's body as it streams in */
  body: string | Readable;
};

const PROXY_TARGET = /^\/api\/v1\/connections\/([^/?#]+)\/proxy(\/[^?#]*)?(\?[^#]*)?$/;

/** Whether a request target is the proxy's (the production server routes these here before the rest of /api/v1). */
export function isProxyTarget(target: string | undefined): boolean {
  return target !== undefined && /^\/api\/v1\/connections\/[^/?#]+\/proxy(?:[/?]|$)/.test(target);
}

// Never forwarded: the caller's credentials, what describes the hop rather than the request, and
// what Consentry itself reads or sets.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  "authorization",
  "cookie",
  "host",
  "content-length",
  "expect",
  "forwarded",
  "x-real-ip",
  "x-request-id",
  "consentry-token",
  "accept-encoding",
  CLIENT_IP_HEADER,
]);
const NOT_RETURNED = new Set([...HOP_BY_HOP, "set-cookie", "set-cookie2"]);

/** Names a `Connection` header lists are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(value: string | undefined): Set<string> {
  return new Set((value ?? "").split(",").map((s) => s.trim().toLowerCase()));
}

/**
 * The path below the API base, normalised: `.` and `..` segments resolved (also as %2e), and anything
 * that would leave the base refused — climbing above it, encoded slashes or backslashes, control
 * characters, a second leading slash or a scheme (an absolute URL).
 */
export function normalizeProxyPath(rest: string, tenant: string | null): string {
  let path = rest || "/";
  if (/\{tenant\}|%7Btenant%7D/i.test(path)) {
    if (!tenant)
      throw new AppError(
        "conflict",
        "This connection has no tenant id yet, so {tenant} cannot be filled in: consent first.",
      );
    path = path.replace(/\{tenant\}|%7Btenant%7D/gi, tenant);
  }
  if (/%2f|%5c|\\/i.test(path))
    throw new AppError("bad-request", "The proxied path may not contain encoded slashes or backslashes.");
  if (/[\u0000-\u001f\u007f]|%[01][0-9a-f]|%7f/i.test(path))
    throw new AppError("bad-request", "The proxied path may not contain control characters.");
  if (path.startsWith("//") || /^\/[a-z][a-z0-9+.-]*:/i.test(path))
    throw new AppError("bad-request", "Send a path below the provider's API base, not an absolute URL.");
  const out: string[] = [];
  const segments = path.slice(1).split("/");
  segments.forEach((seg, i) => {
    const plain = seg.replace(/%2e/gi, ".");
    if (plain === "..") {
      if (out.length === 0)
        throw new AppError("bad-request", "The proxied path climbs above the provider's API base (`..`).");
      out.pop();
      if (i === segments.length - 1) out.push("");
    } else if (plain === ".") {
      if (i === segments.length - 1) out.push("");
    } else out.push(seg);
  });
  return "/" + out.join("/");
}

/** A stream that masks every occurrence of the secrets (same length, so a Content-Length stays true). */
export function maskSecrets(secrets: string[]): Transform {
  const needles = [...new Set(secrets)].filter((s) => s.length >= 8).map((s) => Buffer.from(s, "utf8"));
  const keep = Math.max(0, ...needles.map((n) => n.length - 1));
  let carry = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
      for (const n of needles)
        for (let i = buf.indexOf(n); i >= 0; i = buf.indexOf(n, i + n.length)) buf.fill(0x2a, i, i + n.length);
      const cut = Math.max(0, buf.length - keep);
      carry = Buffer.from(buf.subarray(cut));
      done(null, buf.subarray(0, cut));
    },
    flush(done) {
      done(null, carry);
    },
  });
}

function maskText(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join("*".repeat(s.length));
  return out;
}

/** The request body, at most PROXY_MAX_REQUEST_BYTES; a longer one is read to its end (so the answer reaches the client) and refused. */
async function readBody(body: Readable | null): Promise<Buffer | undefined> {
  if (!body) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= PROXY_MAX_REQUEST_BYTES) chunks.push(chunk);
  }
  if (size > PROXY_MAX_REQUEST_BYTES)
    throw new AppError(
      "payload-too-large",
      `The request body is larger than ${PROXY_MAX_REQUEST_BYTES / 1024 / 1024} MB.`,
    );
  return size ? Buffer.concat(chunks) : undefined;
}

function egressProblem(e: EgressError): AppError {
  switch (e.code) {
    case "blocked_address":
    case "invalid_url":
      return new AppError("bad-request", `The provider's API address is not one Consentry calls: ${e.message}`);
    case "timeout":
      return new AppError("gateway-timeout", e.message, { retryAfter: 30 });
    default:
      return new AppError("bad-gateway", e.message, { retryAfter: 30 });
  }
}

type Resolved = {
  principal: ApiPrincipal;
  providerId: string;
  url: string;
  appOnly: boolean;
  connectionId: string;
  authHeader: string;
  authPrefix: string;
  queryParam?: string;
  extraHeaders: Record<string, string>;
};

/** Everything that can be decided before the body is read: who asks, for which connection, and where it goes. */
async function resolve(db: Db, req: ProxyRequest, principalOut: { p: ApiPrincipal | null }): Promise<Resolved> {
  const m = PROXY_TARGET.exec(req.target);
  if (!m) throw new AppError("not-found", "No such proxy path.");
  let connectionId: string;
  try {
    connectionId = decodeURIComponent(m[1]!);
  } catch {
    throw new AppError("not-found", "No such connection.");
  }
  // the query is forwarded as written (re-encoding it could change what the provider reads)
  const pairs = (m[3]?.slice(1) ?? "").split("&").filter(Boolean);
  const decoded = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
      return s;
    }
  };
  for (const pair of pairs)
    if (decoded(pair.slice(pair.indexOf("=") + 1)).startsWith("csk_"))
      throw new AppError(
        "bad-request",
        "API keys go in the Authorization header (Authorization: Bearer csk_…), never in the URL. Revoke this key: it may have been logged.",
      );
  const header = (name: string) => req.headers.find(([k]) => k === name)?.[1] ?? null;
  const principal = await authenticateApiKey({ db, authorization: header("authorization") });
  principalOut.p = principal;
  requireScope(principal, "proxy");
  await checkApiRateLimits(principal);
  if (!(PROXY_METHODS as readonly string[]).includes(req.method))
    throw new AppError("method-not-allowed", `The proxy forwards ${PROXY_METHODS.join(", ")}.`, {
      allow: [...PROXY_METHODS],
    });
  const tokenKind = (header("consentry-token") ?? "").trim().toLowerCase();
  if (tokenKind && tokenKind !== "app" && tokenKind !== "user")
    throw new AppError(
      "bad-request",
      'Consentry-Token is "app" (the Microsoft app-only token) or "user" (the default).',
    );
  const c = await db.connection.findFirst({
    where: { id: connectionId, organizationId: principal.organizationId },
    select: {
      id: true,
      organizationId: true,
      providerId: true,
      settings: true,
      secretSettingsEnc: true,
      metadata: true,
      externalTenantId: true,
    },
  });
  // another organization's connection is indistinguishable from a missing one
  if (!c) throw new AppError("not-found", `No connection ${connectionId} in this organization.`);
  const provider = PROVIDERS.get(c.providerId);
  if (!provider) throw new AppError("conflict", `The provider ${c.providerId} is no longer in the catalogue.`);
  // every setting, secret ones included (the gateway headers), read once
  const settings = allSettings(c);
  const base = renderTemplate(provider, provider.apiBaseUrl, {
    settings,
    metadata: JSON.parse(c.metadata) as Record<string, unknown>,
    tenant: c.externalTenantId,
  });
  if (!base)
    throw new AppError(
      "conflict",
      provider.settings.some((s) => s.key === "api_base_url")
        ? "This connection has no API base URL: set its api_base_url setting (the token goes there, so consent is asked again)."
        : `This connection does not know where ${provider.name}'s API is yet: complete consent first.`,
    );
  const baseUrl = new URL(applyHostOverrides(base));
  const basePath = baseUrl.pathname.replace(/\/$/, "");
  const path = normalizeProxyPath(m[2] ?? "/", c.externalTenantId);
  const queryParam = provider.apiAuth.queryParam;
  // the credential's own query parameter is Consentry's to set
  const kept = queryParam ? pairs.filter((p) => decoded(p.split("=")[0]!) !== queryParam) : pairs;
  const target = new URL(`${baseUrl.origin}${basePath}${path}`);
  // the URL parser must not have moved it either (it resolves dot segments again)
  if (target.origin !== baseUrl.origin || !(target.pathname === basePath || target.pathname.startsWith(`${basePath}/`)))
    throw new AppError("bad-request", "The proxied path leaves the provider's API base.");
  const search = kept.join("&");
  return {
    principal,
    providerId: provider.id,
    url: `${target.origin}${target.pathname}${search ? `?${search}` : ""}`,
    appOnly: tokenKind === "app",
    connectionId: c.id,
    // a gateway's own headers (the generic provider's secret api_headers setting)
    extraHeaders: apiHeaders(provider, settings),
    authHeader: provider.apiAuth.header.toLowerCase(),
    authPrefix: provider.apiAuth.prefix,
    queryParam: provider.apiAuth.queryParam,
  };
}

export async function handleProxyRequest(db: Db, req: ProxyRequest): Promise<ProxyResponse> {
  const started = performance.now();
  const requestId = requestIdFrom(req.headers.find(([k]) => k === "x-request-id")?.[1]);
  const client = authFailureClient(req.ip);
  const holder: { p: ApiPrincipal | null } = { p: null };
  const auditReq = { method: req.method, url: new URL(req.target.split("?")[0] ?? "/", "http://internal"), ip: req.ip };
  let lockedOut = false;
  let providerId: string | null = null;
  const secrets: string[] = [];
  let upstream: EgressStreamResponse;
  try {
    const lockout = await authLockout(client);
    if (lockout) {
      lockedOut = true;
      throw lockout;
    }
    const r = await resolve(db, req, holder);
    providerId = r.providerId;
    // a gateway key the provider echoes is masked like the token
    secrets.push(...Object.values(r.extraHeaders).filter((v) => v.length >= 8));
    const body = await readBody(req.body);
    const credential = async (force: boolean) => {
      const token = r.appOnly
        ? (
            await getAppOnlyToken({
              db,
              organizationId: r.principal.organizationId,
              connectionId: r.connectionId,
              force,
            })
          ).accessToken
        : (
            await getFreshToken({
              db,
              organizationId: r.principal.organizationId,
              connectionId: r.connectionId,
              minValidity: 60,
              requestId,
              force,
            })
          ).accessToken;
      secrets.push(token);
      return token;
    };
    const listed = connectionListed(req.headers.find(([k]) => k === "connection")?.[1]);
    const send = (token: string) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of req.headers)
        if (!NOT_FORWARDED.has(k) && !listed.has(k) && !k.startsWith("x-forwarded-") && k !== r.authHeader)
          headers[k] = v;
      Object.assign(headers, r.extraHeaders);
      // identity: the answer is scanned for the token on its way through, which a compressed body would hide
      headers["accept-encoding"] = "identity";
      let url = r.url;
      if (r.queryParam)
        url += `${url.includes("?") ? "&" : "?"}${encodeURIComponent(r.queryParam)}=${encodeURIComponent(token)}`;
      else headers[r.authHeader] = `${r.authPrefix}${token}`;
      return egressStream(url, {
        method: req.method,
        headers,
        body,
        timeoutMs: PROXY_TIMEOUT_MS,
        maxBytes: env().proxyMaxResponseBytes,
      });
    };
    try {
      upstream = await send(await credential(false));
      if (upstream.status === 401) {
        // the provider refused a token Consentry thought valid (revoked, rotated elsewhere): one forced
        // refresh and one retry, then whatever the provider answers
        upstream.body.destroy();
        upstream = await send(await credential(true));
      }
    } catch (e) {
      if (e instanceof EgressError) throw egressProblem(e);
      throw e;
    }
  } catch (err) {
    const res = apiProblem(unexpectedApiError(err, "proxy", requestId), requestId);
    await recordApiCall({
      db,
      client,
      lockedOut,
      principal: holder.p,
      routeId: "proxy",
      req: auditReq,
      status: res.status,
      requestId,
      started,
      extra: { duration_ms: Math.round(performance.now() - started) },
    });
    return { status: res.status, headers: res.headers, body: maskText(res.body, secrets) };
  }

  const headers: Record<string, string | string[]> = {};
  const listed = connectionListed(undefined);
  for (let i = 0; i + 1 < upstream.rawHeaders.length; i += 2) {
    const name = upstream.rawHeaders[i]!.toLowerCase();
    if (name === "connection") for (const n of connectionListed(upstream.rawHeaders[i + 1])) listed.add(n);
  }
  for (let i = 0; i + 1 < upstream.rawHeaders.length; i += 2) {
    const name = upstream.rawHeaders[i]!.toLowerCase();
    if (NOT_RETURNED.has(name) || listed.has(name)) continue;
    const value = maskText(upstream.rawHeaders[i + 1]!, secrets);
    const had = headers[name];
    headers[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  headers["consentry-proxy"] = "provider";
  headers["x-request-id"] = requestId;
  const status = upstream.status;
  recordProxyRequest(providerId!, status);
  await recordApiCall({
    db,
    client,
    lockedOut: false,
    principal: holder.p,
    routeId: "proxy",
    req: auditReq,
    status,
    requestId,
    started,
    extra: { duration_ms: Math.round(performance.now() - started) },
  });
  const masked = maskSecrets(secrets);
  upstream.body.on("error", (e) => {
    logger.warn({ err: { message: e.message }, requestId, provider: providerId }, "proxied answer cut off");
    masked.destroy(e);
  });
  masked.on("close", () => upstream.body.destroy());
  return { status, headers, body: upstream.body.pipe(masked) };
}
