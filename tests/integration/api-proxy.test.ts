// The provider proxy (/api/v1/connections/{id}/proxy/{path…}) against real servers on loopback: a
// generic connection consented at oidc-provider whose `api_base_url` is a small API server that records
// what reaches it, and a Microsoft 365 connection at the Azure AD emulator, whose Management API checks
// the token's tenant. What must hold: the credential is injected and the caller's key, cookies and
// hop-by-hop headers never arrive; escapes are refused before anything is sent; one forced refresh
// after a provider 401; streaming without buffering; the token masked where the provider echoes it.
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { env } from "@/lib/env";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { generateSelfSignedCertificate } from "@/lib/crypto/certificates";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { handleProxyRequest, normalizeProxyPath } from "@/lib/proxy/proxy-request";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { followAuthorize } from "../fixtures/http-emulator";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { storedTokens } from "../helpers/lifecycle";
import { api, consentVia, expectProblem, newApiKey, type ApiResult, type TestKey } from "../helpers/api";

const GENERIC = "generic-oauth2";
const MICROSOFT = "microsoft-365-management";
const CONTOSO = {
  tid: "41463f53-8812-40f4-890f-865bf6e35190",
  name: "Contoso, Inc.",
  adminUpn: "admin@contoso.onmicrosoft.com",
  adminName: "John Doe",
};
const APP = {
  clientId: "a6099727-6b7b-482c-b509-1df309acc563",
  clientSecret: `s3cr3t~${crypto.randomBytes(8).toString("hex")}`,
};
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The provider's API: records every request; answers by path.
// ---------------------------------------------------------------------------------------------
type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer };
const seen: Seen[] = [];
/** bearer tokens the API refuses with 401 */
const refused = new Set<string>();
/** refuse every token (a provider that will not take even a freshly refreshed one) */
let refuseAll = false;
/** opened by the test once the first bytes of /big have come through the proxy */
let gate: { promise: Promise<void>; open: () => void };
let bigWritten = 0;
let apiServer: http.Server;
let apiUrl: string;
let op: OidcServer;
let emu: AzureAdEmulator;
let cert: { certificatePem: string; privateKeyPem: string };

function newGate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  gate = { promise, open };
}

async function serveApi(req: http.IncomingMessage, res: http.ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
  if (refuseAll || refused.has(token)) {
    res.writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"' });
    return res.end(JSON.stringify({ error: "invalid_token", message: "The access token was revoked." }));
  }
  const path = new URL(req.url!, "http://x").pathname;
  if (path === "/v1/items") {
    res.writeHead(201, {
      "content-type": "application/json",
      "set-cookie": ["session=provider-session; HttpOnly", "other=1"],
      "x-provider": "yes",
      connection: "keep-alive",
      "keep-alive": "timeout=5",
    });
    return res.end(
      JSON.stringify({ created: true, received: chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : null }),
    );
  }
  if (path === "/v1/missing") {
    res.writeHead(404, { "content-type": "application/json" });
    return res.end(JSON.stringify({ message: "No such item", code: "item_missing" }));
  }
  if (path === "/v1/echo") {
    // a provider that repeats the credential it was sent, in a header and in the body
    res.writeHead(200, { "content-type": "application/json", "x-echo": req.headers.authorization ?? "" });
    return res.end(JSON.stringify({ youSent: req.headers.authorization, again: token }));
  }
  if (path === "/v1/declared-huge") {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(200 * MB) });
    return res.end(); // the length is a lie: the proxy must refuse on the declaration alone
  }
  if (path === "/v1/big") {
    // 20 MB: 1 MB first, then nothing until the test has received bytes through the proxy
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(20 * MB) });
    const chunk = Buffer.alloc(MB, 0x61);
    res.write(chunk);
    bigWritten = MB;
    await gate.promise;
    for (let i = 1; i < 20; i++) {
      if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
      bigWritten += MB;
    }
    return res.end();
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ path, query: new URL(req.url!, "http://x").search }));
}

beforeAll(async () => {
  expect(env().egress.allowLoopback).toBe(true);
  apiServer = http.createServer((req, res) => void serveApi(req, res));
  await new Promise<void>((r) => apiServer.listen(0, "127.0.0.1", r));
  apiUrl = `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`;
  op = await createOidcServer({ redirectUris: [callbackUrl(GENERIC)], ttl: { AccessToken: 3600, RefreshToken: 7200 } });
  cert = await generateSelfSignedCertificate({ commonName: "Consentry proxy test" });
  emu = await createAzureAdEmulator({
    tenants: [CONTOSO],
    apps: [{ ...APP, certificatePem: cert.certificatePem, redirectUris: [callbackUrl(MICROSOFT)] }],
    defaultSignIn: { tid: CONTOSO.tid, decision: "approve" },
    subscriptions: [{ contentType: "Audit.General", status: "enabled", webhook: null }],
  });
  setProviderHostOverridesForTests({ "https://login.windows.net": emu.url, "https://manage.office.com": emu.url });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  apiServer?.closeAllConnections();
  await new Promise((r) => apiServer?.close(r));
  await op?.close();
  await emu?.close();
});
beforeEach(() => {
  seen.length = 0;
  refused.clear();
  refuseAll = false;
  op.setRotateRefreshToken(true);
});

type ProxyResult = ApiResult & { headerList: Record<string, string | string[]> };

describeEachDb("REST API: the provider proxy", (getDb) => {
  let org: string;
  let key: TestKey;
  let otherKey: TestKey;
  let noProxyKey: TestKey;
  let generic: string;
  let microsoft: string;

  async function proxy(
    id: string,
    method: string,
    rest: string,
    opts: { key?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
  ): Promise<ProxyResult> {
    const headers: Array<[string, string]> = Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]);
    headers.push(["authorization", `Bearer ${opts.key ?? key.key}`]);
    const out = await handleProxyRequest(getDb().db, {
      method,
      target: `/api/v1/connections/${id}/proxy${rest}`,
      headers,
      body: opts.body === undefined ? null : Readable.from([Buffer.from(opts.body)]),
      ip: "198.51.100.7",
    });
    const text = typeof out.body === "string" ? out.body : Buffer.concat(await out.body.toArray()).toString();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const flat = Object.fromEntries(
      Object.entries(out.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]),
    );
    return { status: out.status, headers: flat, headerList: out.headers, text, json };
  }

  beforeAll(async () => {
    const { db } = getDb();
    if (getDb().kind === "sqlite") await db.$queryRawUnsafe("PRAGMA journal_mode=WAL");
    org = (await seedOrg(db)).id;
    key = await newApiKey(db, org, ["connections:write", "connections:read", "proxy"]);
    noProxyKey = await newApiKey(db, org, ["connections:read", "tokens:read"]);
    otherKey = await newApiKey(db, (await seedOrg(db)).id, ["proxy", "connections:read"]);
    const created = await api(db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: GENERIC,
        name: "API via proxy",
        settings: {
          authorization_url: op.endpoints.authorization,
          token_url: op.endpoints.token,
          client_auth: "client_secret_post",
          api_base_url: `${apiUrl}/v1`,
        },
        scopes: ["openid", "offline_access"],
        oauth_app: op.clients.post,
      },
    });
    expect(created.status, created.text).toBe(201);
    await consentVia(db, created.json.consent_url, (u) => op.authorize(u));
    generic = created.json.connection.id;

    const ms = await api(db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: MICROSOFT,
        name: "Contoso audit log",
        oauth_app: {
          client_id: APP.clientId,
          client_secret: APP.clientSecret,
          certificate: { certificate_pem: cert.certificatePem, private_key_pem: cert.privateKeyPem },
        },
      },
    });
    expect(ms.status, ms.text).toBe(201);
    await consentVia(db, ms.json.consent_url, (u) => followAuthorize(u, { origins: [emu.url] }));
    emu.grantConsent(CONTOSO.tid, APP.clientId);
    microsoft = ms.json.connection.id;
  });
  afterAll(() => flushAuditBuffer());

  it("forwards method, path below the base, query and body with the connection's token; the API key, cookies, hop-by-hop and forwarded headers never arrive; Set-Cookie is not returned", async () => {
    const { accessToken } = await storedTokens(getDb().db, generic);
    const res = await proxy(generic, "POST", "/items?page=2&sort=name", {
      headers: {
        "content-type": "application/json",
        cookie: "portal-session=abc",
        connection: "keep-alive, x-hop",
        "x-hop": "must-not-pass",
        "x-forwarded-for": "203.0.113.9",
        forwarded: "for=203.0.113.9",
        "proxy-authorization": "Basic eDp5",
        "consentry-token": "user",
        "x-custom": "passes",
        "x-request-id": "req-proxy-1",
      },
      body: JSON.stringify({ name: "Widget" }),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json).toEqual({ created: true, received: { name: "Widget" } });
    expect(res.headers["consentry-proxy"]).toBe("provider");
    expect(res.headers["x-provider"]).toBe("yes");
    expect(res.headers["x-request-id"]).toBe("req-proxy-1");
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(res.headers["keep-alive"]).toBeUndefined();
    expect(res.headers.connection).toBeUndefined();

    expect(seen).toHaveLength(1);
    const got = seen[0]!;
    expect(got.method).toBe("POST");
    expect(got.url).toBe("/v1/items?page=2&sort=name");
    expect(got.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(got.headers["x-custom"]).toBe("passes");
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["content-length"]).toBe(String(Buffer.byteLength(JSON.stringify({ name: "Widget" }))));
    for (const h of [
      "cookie",
      "x-hop",
      "x-forwarded-for",
      "forwarded",
      "proxy-authorization",
      "consentry-token",
      "x-request-id",
    ])
      expect(got.headers[h], h).toBeUndefined();
    // the API key appears nowhere in what the provider received
    expect(JSON.stringify(got.headers) + got.url + got.body.toString()).not.toContain(key.key);
  });

  it("the provider's own errors come back as the provider gave them, marked Consentry-Proxy: provider", async () => {
    const res = await proxy(generic, "GET", "/missing");
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ message: "No such item", code: "item_missing" });
    expect(res.headers["consentry-proxy"]).toBe("provider");
    expect(res.headers["content-type"]).toBe("application/json");
  });

  it("a provider 401 for a token Consentry thought valid: one forced refresh at the authorization server, one retry with the new token", async () => {
    const { db } = getDb();
    const before = await storedTokens(db, generic);
    refused.add(before.accessToken!);
    const res = await proxy(generic, "GET", "/things");
    expect(res.status, res.text).toBe(200);
    const after = await storedTokens(db, generic);
    expect(after.version).toBe(before.version! + 1);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(seen.map((s) => s.headers.authorization)).toEqual([
      `Bearer ${before.accessToken}`,
      `Bearer ${after.accessToken}`,
    ]);
  });

  it("a provider that refuses the refreshed token too: exactly one retry, then its 401 is passed through", async () => {
    refuseAll = true;
    const res = await proxy(generic, "GET", "/things");
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: "invalid_token" });
    expect(res.headers["consentry-proxy"]).toBe("provider");
    expect(res.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
    expect(seen).toHaveLength(2);
  });

  it.each([
    ["/../other", "climbs"],
    ["/a/../../other", "climbs"],
    ["/%2e%2e/other", "climbs"],
    ["/a/%2E%2e/.%2E/other", "climbs"],
    ["/a%2fb", "encoded slashes"],
    ["/a%5Cb", "encoded slashes"],
    ["/a\\b", "encoded slashes"],
    ["//evil.example/x", "absolute URL"],
    ["/https://evil.example/x", "absolute URL"],
    ["/a%00b", "control characters"],
  ])("path escape %s → 400 (%s), nothing sent", async (rest, why) => {
    const res = await proxy(generic, "GET", rest);
    expectProblem(res, 400, "bad-request");
    expect(String(res.json.detail)).toContain(why === "climbs" ? "climbs above" : why);
    expect(seen).toHaveLength(0);
  });

  it("a path that stays inside the base after normalisation is forwarded normalised", async () => {
    const res = await proxy(generic, "GET", "/a/./b/../c?x=%2e%2e");
    expect(res.status, res.text).toBe(200);
    // the query goes as it was written
    expect(seen.map((s) => s.url)).toEqual(["/v1/a/c?x=%2e%2e"]);
  });

  it("an API base at a private address (edited into the database) → 400, nothing sent", async () => {
    const { db } = getDb();
    const c = await db.connection.findUniqueOrThrow({ where: { id: generic } });
    const settings = JSON.parse(c.settings) as Record<string, unknown>;
    await db.connection.update({
      where: { id: generic },
      data: { settings: JSON.stringify({ ...settings, api_base_url: "http://10.0.0.1/v1" }) },
    });
    try {
      const res = await proxy(generic, "GET", "/items");
      expectProblem(res, 400, "bad-request");
      expect(String(res.json.detail)).toContain("private network");
      expect(seen).toHaveLength(0);
    } finally {
      await db.connection.update({ where: { id: generic }, data: { settings: c.settings } });
    }
  });

  it("another organization's key → 404, a key without the proxy scope → 403, no key → 401; nothing sent", async () => {
    expectProblem(await proxy(generic, "GET", "/items", { key: otherKey.key }), 404, "not-found");
    expectProblem(await proxy(generic, "GET", "/items", { key: noProxyKey.key }), 403, "forbidden");
    expectProblem(await proxy(generic, "GET", "/items", { key: "csk_nope" }), 401, "unauthorized");
    expectProblem(await proxy("no-such-connection", "GET", "/items"), 404, "not-found");
    expect(seen).toHaveLength(0);
  });

  it("an API key in the query is refused; a method the proxy does not forward → 405 with Allow", async () => {
    expectProblem(await proxy(generic, "GET", `/items?k=${key.key}`), 400, "bad-request");
    const res = await proxy(generic, "OPTIONS", "/items");
    expectProblem(res, 405, "method-not-allowed");
    expect(res.headers.allow).toBe("GET, POST, PUT, PATCH, DELETE");
    expect(seen).toHaveLength(0);
  });

  it("a request body over 10 MB → 413, nothing sent", async () => {
    const res = await proxy(generic, "PUT", "/items", { body: Buffer.alloc(10 * MB + 1, 0x62) });
    expectProblem(res, 413, "payload-too-large");
    expect(seen).toHaveLength(0);
  });

  it("an answer declared larger than the cap → 502 before anything is passed on", async () => {
    const res = await proxy(generic, "GET", "/declared-huge");
    expectProblem(res, 502, "bad-gateway");
    expect(String(res.json.detail)).toContain("larger than");
  });

  it("the token the provider echoes (header or body) is masked; the answer still parses", async () => {
    const { accessToken } = await storedTokens(getDb().db, generic);
    const res = await proxy(generic, "GET", "/echo");
    expect(res.status).toBe(200);
    expect(res.text + JSON.stringify(res.headers)).not.toContain(accessToken!);
    expect(res.json.again).toBe("*".repeat(accessToken!.length));
    expect(res.headers["x-echo"]).toBe(`Bearer ${"*".repeat(accessToken!.length)}`);
  });

  it("a 20 MB answer is streamed: the first bytes reach the caller while the provider is still holding back the rest", async () => {
    newGate();
    bigWritten = 0;
    const out = await handleProxyRequest(getDb().db, {
      method: "GET",
      target: `/api/v1/connections/${generic}/proxy/big`,
      headers: [["authorization", `Bearer ${key.key}`]],
      body: null,
      ip: "198.51.100.7",
    });
    expect(out.status).toBe(200);
    expect(out.headers["content-length"]).toBe(String(20 * MB));
    const body = out.body as Readable;
    let received = 0;
    let writtenWhenFirstArrived = -1;
    for await (const chunk of body) {
      if (writtenWhenFirstArrived < 0) {
        writtenWhenFirstArrived = bigWritten;
        gate.open();
      }
      received += (chunk as Buffer).length;
    }
    // a proxy that buffered the answer would wait for all 20 MB, which the provider holds back until now
    expect(writtenWhenFirstArrived).toBe(MB);
    expect(received).toBe(20 * MB);
  });

  it("each call is audited as api.proxy: method, path without the query, status and duration", async () => {
    await proxy(generic, "GET", "/missing?secret-ish=1", { headers: { "x-request-id": "req-proxy-audit" } });
    await flushAuditBuffer();
    const row = await getDb().db.auditEvent.findFirstOrThrow({ where: { requestId: "req-proxy-audit" } });
    expect(row).toMatchObject({ action: "api.proxy", organizationId: org, targetId: generic, outcome: "failure" });
    const details = JSON.parse(row.details) as Record<string, unknown>;
    expect(details).toMatchObject({ method: "GET", path: `/api/v1/connections/${generic}/proxy/missing`, status: 404 });
    expect(details.duration_ms).toEqual(expect.any(Number));
  });

  it("Microsoft: Consentry-Token: app sends the app-only token of the stored tenant; {tenant} is filled in; the emulator checks the token's tenant", async () => {
    const res = await proxy(microsoft, "GET", "/api/v1.0/{tenant}/activity/feed/subscriptions/list", {
      headers: { "consentry-token": "app" },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual([{ contentType: "Audit.General", status: "enabled", webhook: null }]);
    const call = emu.requests.filter((r) => r.path.includes("/activity/feed/")).at(-1)!;
    expect(call.path).toBe(`/api/v1.0/${CONTOSO.tid}/activity/feed/subscriptions/list`);
    const sent = /^Bearer (.+)$/.exec(String(call.headers.authorization))![1]!;
    const claims = JSON.parse(Buffer.from(sent.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(claims.tid).toBe(CONTOSO.tid);
    expect(claims.roles).toBeDefined(); // an app-only token carries roles, not a user's scp
    // an unknown token kind is refused
    expectProblem(
      await proxy(microsoft, "GET", "/api/v1.0/{tenant}/activity/feed/subscriptions/list", {
        headers: { "consentry-token": "admin" },
      }),
      400,
      "bad-request",
    );
  });

  it("app-only tokens only where the provider has them: 400 for the generic connection, nothing sent", async () => {
    expectProblem(await proxy(generic, "GET", "/items", { headers: { "consentry-token": "app" } }), 400, "bad-request");
    expect(seen).toHaveLength(0);
  });
});

it("normalizeProxyPath: dot segments resolved inside the base, trailing slash kept", () => {
  expect(normalizeProxyPath("/a/./b/../c/", null)).toBe("/a/c/");
  expect(normalizeProxyPath("/a/b/..", null)).toBe("/a/");
  expect(normalizeProxyPath("/", null)).toBe("/");
  expect(normalizeProxyPath("/x/{tenant}/y", "41463f53-8812-40f4-890f-865bf6e35190")).toBe(
    "/x/41463f53-8812-40f4-890f-865bf6e35190/y",
  );
  expect(() => normalizeProxyPath("/x/{tenant}", null)).toThrow(/no tenant id/);
});

it("isProxyTarget: the proxy's targets and nothing else", async () => {
  const { isProxyTarget } = await import("@/lib/proxy/proxy-request");
  for (const t of [
    "/api/v1/connections/c1/proxy",
    "/api/v1/connections/c1/proxy/a/b",
    "/api/v1/connections/c1/proxy?x=1",
  ])
    expect(isProxyTarget(t), t).toBe(true);
  for (const t of [
    "/api/v1/connections/c1/proxyx",
    "/api/v1/connections/c1/token",
    "/api/v1/connections/proxy",
    undefined,
  ])
    expect(isProxyTarget(t), String(t)).toBe(false);
});
