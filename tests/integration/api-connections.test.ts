// REST API happy paths for connections against a real authorization server (oidc-provider): the
// provider catalogue, create (generic provider pointing at the OP, inline custom app) → consent →
// get/list/consent-link/test/delete; 422s with English `errors[{ path, message }]`; list filters and
// cursor pagination; no secret in any answer or audit row.
import { afterAll, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { env } from "@/lib/env";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { storedTokens } from "../helpers/lifecycle";
import {
  api,
  auditText,
  consentVia,
  expectNoSecrets,
  expectProblem,
  newApiKey,
  secretFieldsIn,
  type ApiResult,
  type TestKey,
} from "../helpers/api";

const GENERIC = "generic-oauth2";
let op: OidcServer;

beforeAll(async () => {
  expect(env().egress.allowLoopback).toBe(true);
  op = await createOidcServer({ redirectUris: [callbackUrl(GENERIC)], ttl: { AccessToken: 3600, RefreshToken: 7200 } });
});
afterAll(async () => op?.close());

const genericBody = (over: Record<string, unknown> = {}) => ({
  provider: GENERIC,
  name: `OP ${Math.random().toString(36).slice(2, 8)}`,
  settings: {
    authorization_url: op.endpoints.authorization,
    token_url: op.endpoints.token,
    client_auth: "client_secret_post",
    test_url: op.endpoints.userinfo,
  },
  scopes: ["openid", "offline_access", "email"],
  oauth_app: { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret },
  ...over,
});

const CONNECTION_KEYS = [
  "id",
  "name",
  "provider",
  "status",
  "tenant_id",
  "account",
  "scopes",
  "granted_scopes",
  "settings",
  "secret_settings",
  "metadata",
  "created_at",
  "connected_at",
  "expires_at",
  "refresh_token_expires_at",
  "last_refreshed_at",
  "last_error",
].sort();

describeEachDb("REST API: connections (oidc-provider)", (getDb) => {
  let org: string;
  let key: TestKey;
  /** every plaintext secret the suite handled */
  const secrets: string[] = [];

  beforeAll(async () => {
    const { db } = getDb();
    org = (await seedOrg(db)).id;
    key = await newApiKey(db, org);
    secrets.push(key.key, op.clients.post.client_secret);
  });
  afterAll(() => flushAuditBuffer());

  const call = (method: string, path: string, body?: unknown, k = key.key) =>
    api(getDb().db, method, path, { key: k, body });

  /** creates through the API and completes consent at the OP */
  async function createAndConsent(over: Record<string, unknown> = {}) {
    const created = await call("POST", "/api/v1/connections", genericBody(over));
    expect(created.status, created.text).toBe(201);
    await consentVia(getDb().db, created.json.consent_url, (u) => op.authorize(u));
    const id = created.json.connection.id as string;
    const t = await storedTokens(getDb().db, id);
    secrets.push(t.accessToken!, t.refreshToken!);
    return { id, created };
  }

  it("GET /providers: every provider with its settings keys and types, success headers", async () => {
    const res = await call("GET", "/api/v1/providers");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.headers["cache-control"]).toBe("private, no-cache");
    const ids = (res.json.data as Array<{ id: string }>).map((p) => p.id);
    expect(ids.sort()).toEqual([...PROVIDERS.keys()].sort());
    const generic = res.json.data.find((p: { id: string }) => p.id === GENERIC);
    expect(generic).toMatchObject({
      name: expect.any(String),
      auth_kind: "oauth2",
      app_only_tokens: false,
      redirect_uri: callbackUrl(GENERIC),
    });
    const settings = Object.fromEntries(
      (generic.settings as Array<{ key: string; type: string; required: boolean; options: string[] | null }>).map(
        (s) => [s.key, s],
      ),
    );
    expect(settings.authorization_url).toMatchObject({ type: "url", required: true });
    expect(settings.token_url).toMatchObject({ type: "url", required: true, secret: false, reconsent_on_change: true });
    expect(settings.api_headers).toMatchObject({ type: "key_values", secret: true, reconsent_on_change: false });
    expect(settings.refresh_url).toMatchObject({ type: "url", required: false });
    expect(settings.authorization_params).toMatchObject({ type: "key_values" });
    expect(settings.client_auth).toMatchObject({
      type: "enum",
      options: ["client_secret_post", "client_secret_basic"],
      default: "client_secret_post",
    });
    expect(settings.use_pkce).toMatchObject({ type: "boolean", default: true });
    for (const p of res.json.data)
      for (const s of p.settings) expect(typeof s.key === "string" && typeof s.type === "string").toBe(true);
    expect(res.json.data.find((p: { id: string }) => p.id === "microsoft-365-management")).toMatchObject({
      app_only_tokens: true,
    });
    expect(res.json.data.find((p: { id: string }) => p.id === "backlog-api-key")).toMatchObject({
      auth_kind: "api_key",
      redirect_uri: null,
    });
  });

  it("POST /connections: 201 with consent_url, consent_expires_at and redirect_uri; the inline oauth_app becomes the organization's custom app", async () => {
    const { db } = getDb();
    const body = genericBody();
    const before = Date.now();
    const res = await call("POST", "/api/v1/connections", body);
    expect(res.status, res.text).toBe(201);
    expect(Object.keys(res.json).sort()).toEqual(["connection", "consent_expires_at", "consent_url", "redirect_uri"]);
    expect(res.json.consent_url).toMatch(new RegExp(`^${env().publicUrl}/consent/[A-Za-z0-9_-]{43}$`));
    const ttl = new Date(res.json.consent_expires_at).getTime() - before;
    expect(Math.abs(ttl - env().consentLinkTtlHours * 3600_000)).toBeLessThan(60_000);
    expect(res.json.redirect_uri).toBe(callbackUrl(GENERIC));
    const c = res.json.connection;
    expect(Object.keys(c).sort()).toEqual(CONNECTION_KEYS);
    expect(c).toMatchObject({
      name: body.name,
      provider: GENERIC,
      status: "pending_consent",
      tenant_id: null,
      scopes: body.scopes,
      connected_at: null,
      expires_at: null,
      last_error: null,
    });
    expect(c.settings).toMatchObject({
      authorization_url: op.endpoints.authorization,
      token_url: op.endpoints.token,
      client_auth: "client_secret_post",
      use_pkce: true,
    });
    const row = await db.connection.findUniqueOrThrow({ where: { id: c.id }, include: { oauthApp: true } });
    expect(row.organizationId).toBe(org);
    expect(row.oauthApp).toMatchObject({
      organizationId: org,
      providerId: GENERIC,
      clientId: op.clients.post.client_id,
    });
    expect(row.oauthApp!.clientSecretEnc).toMatch(/^enc1\./);
    expect(secretFieldsIn(res.json)).toEqual([]);
    expectNoSecrets(res.text, secrets);
  });

  it("the audit events of an API call carry its X-Request-Id: the call itself, the inline app, the connection and its consent link", async () => {
    const { db } = getDb();
    const requestId = `job-create.${crypto.randomUUID()}`;
    const res = await api(db, "POST", "/api/v1/connections", {
      key: key.key,
      body: genericBody(),
      headers: { "x-request-id": requestId },
    });
    expect(res.status, res.text).toBe(201);
    await flushAuditBuffer();
    const rows = await db.auditEvent.findMany({ where: { requestId } });
    expect(rows.map((r) => [r.action, r.actorType, r.actorId, r.organizationId]).sort()).toEqual([
      ["api.createConnection", "api_key", key.id, org],
      ["connection.created", "api_key", key.id, org],
      ["consent_link.created", "api_key", key.id, org],
      ["oauth_app.created", "api_key", key.id, org],
    ]);
    // and only there: another call's events do not inherit it
    expect((await call("GET", `/api/v1/connections/${res.json.connection.id}`)).headers["x-request-id"]).not.toBe(
      requestId,
    );
    await flushAuditBuffer();
    expect(await db.auditEvent.count({ where: { requestId } })).toBe(4);
  });

  it("POST /connections with bad bodies → 422 with English errors[{ path, message }]; bad JSON → 400", async () => {
    const cases: Array<[unknown, string]> = [
      [genericBody({ settings: { authorization_url: "https://as.example.com/auth" } }), "settings.token_url"],
      [
        genericBody({ settings: { authorization_url: "not a url", token_url: "https://as.example.com/token" } }),
        "settings.authorization_url",
      ],
      [
        genericBody({
          settings: {
            authorization_url: "https://as.example.com/auth",
            token_url: "https://as.example.com/token",
            nonsense: 1,
          },
        }),
        "settings",
      ],
      [genericBody({ name: "" }), "name"],
      [genericBody({ provider: "no-such-provider" }), "provider"],
      [genericBody({ oauth_app: undefined }), "oauth_app_id"],
      [genericBody({ scopes: ["has space"] }), "scopes.0"],
      [
        genericBody({
          settings: { authorization_url: "http://10.0.0.1/auth", token_url: "https://as.example.com/token" },
        }),
        "settings.authorization_url",
      ],
    ];
    for (const [body, path] of cases) {
      const res = await call("POST", "/api/v1/connections", body);
      expectProblem(res, 422, "validation");
      const errors = res.json.errors as Array<{ path: string; message: string }>;
      expect(errors.length, res.text).toBeGreaterThan(0);
      const e = errors.find((x) => x.path === path);
      expect(e, `${path} in ${res.text}`).toBeDefined();
      // English text for machines, never a message key such as "validation.nameRequired"
      for (const x of errors) {
        expect(x.message).not.toMatch(/^[a-z]+(\.[A-Za-z_]+)+$/);
        expect(x.message).toMatch(/[A-Za-z]+ [A-Za-z]+/);
      }
    }
    const invalidJson = await api(getDb().db, "POST", "/api/v1/connections", {
      key: key.key,
      rawBody: "{nope",
      headers: { "content-type": "application/json" },
    });
    expectProblem(invalidJson, 400, "bad-request");
    const notJson = await api(getDb().db, "POST", "/api/v1/connections", {
      key: key.key,
      rawBody: "provider=x",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectProblem(notJson, 400, "bad-request");
    const tooBig = await api(getDb().db, "POST", "/api/v1/connections", {
      key: key.key,
      rawBody: JSON.stringify({ name: "x".repeat(70_000) }),
      headers: { "content-type": "application/json" },
    });
    expectProblem(tooBig, 400, "bad-request");
  });

  it("create → consent at the OP → GET: active, no secret fields anywhere, tokens stay in the database", async () => {
    const { db } = getDb();
    const { id } = await createAndConsent();
    const res = await call("GET", `/api/v1/connections/${id}`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.json).sort()).toEqual(CONNECTION_KEYS);
    expect(res.json).toMatchObject({ id, status: "active", provider: GENERIC, last_error: null });
    expect(new Date(res.json.connected_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(new Date(res.json.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(secretFieldsIn(res.json)).toEqual([]);
    expect(res.text).not.toMatch(/"client_secret"|"refresh_token"|"access_token"|"tokens?"|Enc"/);
    expectNoSecrets(res.text, secrets);
    expect(await db.tokenSet.count({ where: { connectionId: id } })).toBe(1);
  });

  it("POST /connections/{id}/consent-link: a new link each time; reconnecting through it keeps the same connection id", async () => {
    const { db } = getDb();
    const { id, created } = await createAndConsent();
    const before = await storedTokens(db, id);
    const link = await call("POST", `/api/v1/connections/${id}/consent-link`);
    expect(link.status, link.text).toBe(201);
    expect(link.headers["content-type"]).toMatch(/^application\/json/);
    expect(Object.keys(link.json).sort()).toEqual(["consent_expires_at", "consent_url", "redirect_uri"]);
    expect(link.json.consent_url).not.toBe(created.json.consent_url);
    expect(link.json.consent_url).toMatch(/\/consent\/[A-Za-z0-9_-]{43}$/);
    expect(link.json.redirect_uri).toBe(callbackUrl(GENERIC));
    const second = await call("POST", `/api/v1/connections/${id}/consent-link`, {});
    expect(second.status).toBe(201);
    expect(second.json.consent_url).not.toBe(link.json.consent_url);

    const outcome = await consentVia(db, link.json.consent_url, (u) => op.authorize(u));
    expect(outcome).toMatchObject({ connectionId: id });
    const after = await storedTokens(db, id);
    secrets.push(after.accessToken!, after.refreshToken!);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect((await call("GET", `/api/v1/connections/${id}`)).json).toMatchObject({ id, status: "active" });
    expect(await db.connection.count({ where: { organizationId: org, name: created.json.connection.name } })).toBe(1);
    // the used link is single-use
    await expect(consentVia(db, link.json.consent_url, (u) => op.authorize(u))).rejects.toThrow(/not open/);
  });

  it("POST /connections/{id}/test: the provider's test request with the stored token → status and a redacted summary", async () => {
    const { id } = await createAndConsent();
    op.resetRecording();
    const res = await call("POST", `/api/v1/connections/${id}/test`);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      ok: true,
      status: 200,
      message: expect.any(String),
      summary: expect.any(Object),
      duration_ms: expect.any(Number),
    });
    expect(op.requests.filter((r) => r.path === "/me")).toHaveLength(1);
    expectNoSecrets(res.text, secrets);
  });

  it("GET /connections: filters (provider, status, tenant_id) and cursor pagination without duplicates or gaps; limit bounds → 422", async () => {
    const { db } = getDb();
    const listOrg = (await seedOrg(db)).id;
    const k = await newApiKey(db, listOrg);
    secrets.push(k.key);
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const res = await call("POST", "/api/v1/connections", genericBody({ name: `list ${i}` }), k.key);
      expect(res.status).toBe(201);
      ids.push(res.json.connection.id);
    }
    const apiKeyConn = await call(
      "POST",
      "/api/v1/connections",
      {
        provider: "backlog-api-key",
        name: "backlog key",
        settings: { space: "example.backlog.com" },
        api_key: "canary-backlog-api-key",
      },
      k.key,
    );
    expect(apiKeyConn.status, apiKeyConn.text).toBe(201);
    expect(apiKeyConn.json).toMatchObject({
      consent_url: null,
      consent_expires_at: null,
      redirect_uri: null,
      connection: { status: "active" },
    });
    secrets.push("canary-backlog-api-key");
    ids.push(apiKeyConn.json.connection.id);
    // statuses and tenants for the filters
    await db.connection.update({ where: { id: ids[3] }, data: { status: "active", externalTenantId: "tenant-x" } });
    await db.connection.update({
      where: { id: ids[4] },
      data: { status: "needs_reconsent", externalTenantId: "tenant-x" },
    });
    await db.connection.update({ where: { id: ids[5] }, data: { status: "error", externalTenantId: "tenant-y" } });
    // another organization's connection never shows up
    await call("POST", "/api/v1/connections", genericBody({ name: "other org" }));

    const all: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: ApiResult = await call(
        "GET",
        `/api/v1/connections?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        undefined,
        k.key,
      );
      expect(res.status, res.text).toBe(200);
      expect(res.json.data.length).toBeLessThanOrEqual(7);
      for (const c of res.json.data) expect(Object.keys(c).sort()).toEqual(CONNECTION_KEYS);
      all.push(...res.json.data.map((c: { id: string }) => c.id));
      cursor = res.json.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(4); // 24 = 7 + 7 + 7 + 3
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual([...ids].sort());
    // newest first
    const created = await db.connection.findMany({ where: { id: { in: all } }, select: { id: true, createdAt: true } });
    const at = new Map(created.map((c) => [c.id, c.createdAt.getTime()]));
    for (let i = 1; i < all.length; i++) expect(at.get(all[i - 1]!)!).toBeGreaterThanOrEqual(at.get(all[i]!)!);

    const defaultPage = await call("GET", "/api/v1/connections", undefined, k.key);
    expect(defaultPage.json.data).toHaveLength(24);
    expect(defaultPage.json.next_cursor).toBeNull();

    const q = async (query: string) =>
      ((await call("GET", `/api/v1/connections?${query}`, undefined, k.key)).json.data as Array<{ id: string }>)
        .map((c) => c.id)
        .sort();
    expect(await q("provider=backlog-api-key")).toEqual([ids[23]]);
    expect((await q(`provider=${GENERIC}`)).length).toBe(23);
    expect(await q("status=needs_reconsent")).toEqual([ids[4]]);
    expect(await q("status=active")).toEqual([ids[3], ids[23]].sort());
    expect(await q("tenant_id=tenant-x")).toEqual([ids[3], ids[4]].sort());
    expect(await q("tenant_id=TENANT-X&status=active")).toEqual([ids[3]]);
    expect(await q("provider=webex")).toEqual([]);

    for (const bad of [
      "limit=0",
      "limit=101",
      "limit=abc",
      "limit=2.5",
      "status=sleeping",
      "cursor=not-a-cursor",
      `cursor=${ids[0]}x`,
    ]) {
      const res = await call("GET", `/api/v1/connections?${bad}`, undefined, k.key);
      expectProblem(res, 422, "validation");
      expect(res.json.errors[0].path).toBe(bad.split("=")[0]);
    }
    // a cursor from another organization is not a cursor here
    const otherPage = await call("GET", "/api/v1/connections?limit=1");
    const foreignCursor = otherPage.json.next_cursor ?? otherPage.json.data[0].id;
    expectProblem(
      await call("GET", `/api/v1/connections?cursor=${foreignCursor}`, undefined, k.key),
      422,
      "validation",
    );
    expect((await call("GET", "/api/v1/connections?limit=100", undefined, k.key)).status).toBe(200);
    expect((await call("GET", "/api/v1/connections?limit=1", undefined, k.key)).json.data).toHaveLength(1);
  });

  it("DELETE /connections/{id}: status revoked, token row deleted, audit events kept; the token endpoint then answers 409; Reconnect keeps the id", async () => {
    const { db } = getDb();
    const { id } = await createAndConsent();
    await flushAuditBuffer();
    const auditBefore = await db.auditEvent.count({ where: { targetId: id } });
    expect(auditBefore).toBeGreaterThanOrEqual(3); // connection.created, consent_link.created, consent.completed …
    const res = await call("DELETE", `/api/v1/connections/${id}`);
    expect(res.status, res.text).toBe(200);
    // no revocation_url setting: nothing to revoke with at the provider, and the answer says so
    expect(res.json).toMatchObject({
      id,
      status: "revoked",
      expires_at: null,
      purged: false,
      revocation: { outcome: "unsupported" },
    });
    expect(await db.tokenSet.count({ where: { connectionId: id } })).toBe(0);
    expect(await db.connection.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "revoked" });
    await flushAuditBuffer();
    const auditAfter = await db.auditEvent.findMany({ where: { targetId: id } });
    expect(auditAfter.length).toBeGreaterThan(auditBefore);
    expect(auditAfter.map((a) => a.action)).toEqual(
      expect.arrayContaining(["connection.created", "connection.revoked", "api.deleteConnection"]),
    );
    expect((await call("GET", `/api/v1/connections/${id}`)).json.status).toBe("revoked");
    const token = await call("POST", `/api/v1/connections/${id}/token`);
    expectProblem(token, 409, "needs-reconsent");
    expect(token.json.reason).toBe("revoked");
    // Reconnect: a fresh consent link on the revoked connection, consent again, the same id is active
    const link = await call("POST", `/api/v1/connections/${id}/consent-link`);
    expect(link.status, link.text).toBe(201);
    await consentVia(db, link.json.consent_url, (u) => op.authorize(u));
    expect((await call("GET", `/api/v1/connections/${id}`)).json).toMatchObject({ id, status: "active" });
    expect((await call("POST", `/api/v1/connections/${id}/token`)).status).toBe(200);
    const t = await storedTokens(db, id);
    secrets.push(t.accessToken!, t.refreshToken!);
  });

  it("no answer and no audit row of this suite holds a secret (API key, client secret, tokens)", async () => {
    const { db } = getDb();
    const text = await auditText(db);
    expectNoSecrets(text, secrets);
    const rows = await db.auditEvent.findMany({ where: { organizationId: org, action: { startsWith: "api." } } });
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) expect(r).toMatchObject({ actorType: "api_key", actorId: key.id, actorLabel: key.prefix });
  });
});
