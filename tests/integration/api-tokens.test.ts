// POST /api/v1/connections/{id}/token against a real authorization server (oidc-provider with
// refresh-token rotation): the stored token when fresh enough, a refresh when `min_validity` asks for
// more, `Cache-Control: no-store`, never the refresh token, 409 needs-reconsent with the reason once
// the grant is dead, 502 refresh-failed with Retry-After when the AS fails and the token has expired,
// and 50 concurrent calls for a nearly expired connection → one refresh at the AS, 50 × the same token.
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { env } from "@/lib/env";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { faults, httpRequest } from "../fixtures/http-emulator";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { storedTokens } from "../helpers/lifecycle";
import {
  api,
  auditText,
  consentVia,
  expectAudited,
  expectNoSecrets,
  expectProblem,
  newApiKey,
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
beforeEach(() => {
  op.clearFaults();
  op.setRotateRefreshToken(true);
  op.setTtl({ AccessToken: 3600 });
});

/** OP's own view of a token (RFC 7662). */
async function introspect(token: string): Promise<Record<string, unknown>> {
  const body = new URLSearchParams({
    token,
    client_id: op.clients.post.client_id,
    client_secret: op.clients.post.client_secret,
  }).toString();
  const res = await httpRequest(op.endpoints.introspection, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  return JSON.parse(res.body) as Record<string, unknown>;
}

async function userinfo(token: string): Promise<number> {
  return (await fetch(op.endpoints.userinfo, { headers: { authorization: `Bearer ${token}` } })).status;
}

describeEachDb("REST API: the token endpoint (oidc-provider)", (getDb) => {
  let org: string;
  let key: TestKey;
  const secrets: string[] = [];
  const calls: Array<{ res: ApiResult; routeId: string; organizationId: string | null }> = [];

  beforeAll(async () => {
    const { db } = getDb();
    // what bootstrap does for the embedded default: readers proceed while a writer commits
    if (getDb().kind === "sqlite") await db.$queryRawUnsafe("PRAGMA journal_mode=WAL");
    org = (await seedOrg(db)).id;
    key = await newApiKey(db, org);
    secrets.push(key.key, op.clients.post.client_secret);
  });
  afterAll(() => flushAuditBuffer());

  async function token(id: string, body?: unknown) {
    const res = await api(getDb().db, "POST", `/api/v1/connections/${id}/token`, { key: key.key, body });
    calls.push({ res, routeId: "getToken", organizationId: org });
    return res;
  }

  async function connect() {
    const { db } = getDb();
    const created = await api(db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: GENERIC,
        name: `tok ${Math.random().toString(36).slice(2, 8)}`,
        settings: {
          authorization_url: op.endpoints.authorization,
          token_url: op.endpoints.token,
          client_auth: "client_secret_post",
        },
        scopes: ["openid", "offline_access"],
        oauth_app: op.clients.post,
      },
    });
    expect(created.status, created.text).toBe(201);
    await consentVia(db, created.json.consent_url, (u) => op.authorize(u));
    const id = created.json.connection.id as string;
    const t = await storedTokens(db, id);
    expect(t.refreshToken).toBeTruthy();
    secrets.push(t.accessToken!, t.refreshToken!);
    return { id, tokens: t };
  }

  const expireInDb = (id: string, inSeconds: number) =>
    getDb().db.connection.update({ where: { id }, data: { expiresAt: new Date(Date.now() + inSeconds * 1000) } });

  it("a fresh token is served as stored: no AS call, Cache-Control no-store, exactly the contract's fields, never the refresh token", async () => {
    const { id, tokens } = await connect();
    op.resetRecording();
    for (const body of [undefined, {}, { min_validity: 60 }]) {
      const res = await token(id, body);
      expect(res.status, res.text).toBe(200);
      expect(res.headers["cache-control"]).toBe("no-store");
      expect(res.headers.pragma).toBe("no-cache");
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
      expect(Object.keys(res.json).sort()).toEqual([
        "access_token",
        "expires_at",
        "min_validity_met",
        "scopes",
        "tenant_id",
        "token_type",
      ]);
      expect(res.json).toMatchObject({ access_token: tokens.accessToken, token_type: "Bearer", tenant_id: null });
      expect(res.json.expires_at).toBe(tokens.connection.expiresAt!.toISOString());
      expect(res.json.scopes).toEqual(expect.arrayContaining(["openid"]));
      expect(res.text).not.toContain(tokens.refreshToken!);
      expect(res.text).not.toMatch(/refresh/i);
    }
    expect(op.counters.tokenCalls).toBe(0);
    // it is the OP's token, live
    expect(await introspect(tokens.accessToken!)).toMatchObject({ active: true, client_id: op.clients.post.client_id });
    expect(await userinfo(tokens.accessToken!)).toBe(200);
  });

  it("min_validity is respected: enough life left → the stored token; more than it has → one refresh first; the default is 300 s", async () => {
    const { db } = getDb();
    const { id, tokens } = await connect();
    op.resetRecording();
    const enough = await token(id, { min_validity: 3000 });
    expect(enough.json.access_token).toBe(tokens.accessToken);
    expect(enough.json.min_validity_met).toBe(true);
    expect(enough.json).not.toHaveProperty("reason");
    expect(op.counters.tokenCalls).toBe(0);

    const more = await token(id, { min_validity: 4000 });
    expect(more.status, more.text).toBe(200);
    expect(op.counters.refreshed).toBe(1);
    expect(op.events["refresh_token.consumed"]).toBe(1);
    expect(more.json.access_token).not.toBe(tokens.accessToken);
    const after = await storedTokens(db, id);
    secrets.push(after.accessToken!, after.refreshToken!);
    expect(more.json.access_token).toBe(after.accessToken);
    expect(after.version).toBe(tokens.version! + 1);
    expect(after.refreshToken).not.toBe(tokens.refreshToken); // rotated and kept
    expect(new Date(more.json.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    // the OP issues 3600 s tokens: 4000 cannot be met, and the answer says why
    expect(more.json).toMatchObject({ min_validity_met: false, reason: "provider_lifetime_shorter" });
    expect(more.text).not.toContain(after.refreshToken!);
    expect(await userinfo(more.json.access_token)).toBe(200);

    // default min_validity (300 s): 200 s left → refreshed; 400 s left → served as is
    await expireInDb(id, 400);
    op.resetRecording();
    expect((await token(id)).json.access_token).toBe(after.accessToken);
    expect(op.counters.tokenCalls).toBe(0);
    await expireInDb(id, 200);
    const dflt = await token(id);
    expect(dflt.status).toBe(200);
    expect(op.counters.refreshed).toBe(1);
    expect(dflt.json.access_token).not.toBe(after.accessToken);
    secrets.push(dflt.json.access_token, (await storedTokens(db, id)).refreshToken!);
  });

  it("a refresh the token endpoint causes is audited with the caller's X-Request-Id (no implicit request context)", async () => {
    const { db } = getDb();
    const { id } = await connect();
    await expireInDb(id, 60);
    const requestId = `job-refresh.${crypto.randomUUID()}`;
    const res = await api(db, "POST", `/api/v1/connections/${id}/token`, {
      key: key.key,
      body: {},
      headers: { "x-request-id": requestId },
    });
    expect(res.status, res.text).toBe(200);
    secrets.push(res.json.access_token, (await storedTokens(db, id)).refreshToken!);
    await flushAuditBuffer();
    const rows = await db.auditEvent.findMany({ where: { requestId }, orderBy: { createdAt: "asc" } });
    expect(rows.map((r) => [r.action, r.actorType, r.targetId]).sort()).toEqual([
      ["api.getToken", "api_key", id],
      ["connection.refreshed", "system", id],
    ]);
  });

  it("invalid min_validity → 422 with the path", async () => {
    const { id } = await connect();
    for (const body of [
      { min_validity: -1 },
      { min_validity: 86_401 },
      { min_validity: "60" },
      { min_validity: 1.5 },
      { min_validity: 60, refresh: true },
    ]) {
      const res = await token(id, body);
      expectProblem(res, 422, "validation");
      expect(res.json.errors.length).toBeGreaterThan(0);
      expect(res.json.errors.map((e: { path: string }) => e.path).join(",")).toMatch(/min_validity|^$/);
    }
  });

  it("a connection waiting for consent → 409 needs-reconsent, reason pending_consent", async () => {
    const created = await api(getDb().db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: GENERIC,
        name: "pending",
        settings: { authorization_url: op.endpoints.authorization, token_url: op.endpoints.token },
        oauth_app: op.clients.post,
      },
    });
    const res = await token(created.json.connection.id);
    expectProblem(res, 409, "needs-reconsent");
    expect(res.json.reason).toBe("pending_consent");
  });

  it("the grant revoked at the AS: the refresh gets invalid_grant → 409 needs-reconsent with the reason; a new consent link brings the same id back", async () => {
    const { db } = getDb();
    const { id, tokens } = await connect();
    // the data owner's grant ends at the AS
    const revoke = await httpRequest(op.endpoints.revocation, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: tokens.refreshToken!,
        token_type_hint: "refresh_token",
        client_id: op.clients.post.client_id,
        client_secret: op.clients.post.client_secret,
      }).toString(),
    });
    expect(revoke.status).toBe(200);
    await expireInDb(id, -5);
    op.resetRecording();
    const res = await token(id);
    expectProblem(res, 409, "needs-reconsent");
    expect(res.json.reason).toBe("invalid_grant");
    expect(res.json.detail).toMatch(/consent-link/);
    expect(res.json.connection_id).toBe(id);
    expect(op.counters.tokenCalls).toBe(1);
    expect(op.tokenRequests[0]!.form.grant_type).toBe("refresh_token");

    const conn = await api(db, "GET", `/api/v1/connections/${id}`, { key: key.key });
    expect(conn.json).toMatchObject({ status: "needs_reconsent", last_error: { code: "invalid_grant" } });
    // no further AS calls for a dead grant
    expectProblem(await token(id), 409, "needs-reconsent");
    expect(op.counters.tokenCalls).toBe(1);

    const link = await api(db, "POST", `/api/v1/connections/${id}/consent-link`, { key: key.key });
    expect(link.status).toBe(201);
    await consentVia(db, link.json.consent_url, (u) => op.authorize(u));
    const back = await token(id);
    expect(back.status, back.text).toBe(200);
    const now = await storedTokens(db, id);
    secrets.push(now.accessToken!, now.refreshToken!);
    expect(back.json.access_token).toBe(now.accessToken);
    expect(await userinfo(back.json.access_token)).toBe(200);
  });

  it("the AS failing while the token has expired → 502 refresh-failed with Retry-After; a still-valid token is served instead; recovery afterwards", async () => {
    const { db } = getDb();
    const { id, tokens } = await connect();
    await expireInDb(id, -5);
    op.failNext(faults.rateLimited(7));
    const limited = await token(id);
    expectProblem(limited, 502, "refresh-failed");
    expect(limited.headers["retry-after"]).toBe("7");
    expect(limited.json.reason).toBe("retryable");

    op.failNext(faults.serverError(503));
    const down = await token(id);
    expectProblem(down, 502, "refresh-failed");
    expect(Number(down.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(down.text).not.toContain(tokens.accessToken!);

    // with life left (but less than asked for) the old token is better than an error
    await expireInDb(id, 100);
    op.failNext(faults.serverError(500));
    const stale = await token(id, { min_validity: 300 });
    expect(stale.status, stale.text).toBe(200);
    expect(stale.json.access_token).toBe(tokens.accessToken);

    // the AS is back: the next call refreshes
    await expireInDb(id, -5);
    op.resetRecording();
    const ok = await token(id);
    expect(ok.status, ok.text).toBe(200);
    expect(op.counters.refreshed).toBe(1);
    const now = await storedTokens(db, id);
    secrets.push(now.accessToken!, now.refreshToken!);
    expect(ok.json.access_token).toBe(now.accessToken);
    expect((await api(db, "GET", `/api/v1/connections/${id}`, { key: key.key })).json.status).toBe("active");
  });

  it("50 concurrent calls for a nearly expired connection → exactly one refresh at the AS, 50 × 200 with the same new token", async () => {
    const { db } = getDb();
    op.setTtl({ AccessToken: 20 }); // the consented token really is nearly expired (20 s < the default 300 s)
    const { id, tokens } = await connect();
    op.setTtl({ AccessToken: 3600 });
    expect(tokens.connection.expiresAt!.getTime() - Date.now()).toBeLessThan(25_000);
    op.resetRecording();

    const results = await Promise.all(Array.from({ length: 50 }, () => token(id)));

    expect(op.counters.tokenCalls).toBe(1);
    expect(op.counters.refreshed).toBe(1);
    expect(op.events["refresh_token.consumed"]).toBe(1);
    expect(op.events["grant.revoked"]).toBe(0);
    const after = await storedTokens(db, id);
    secrets.push(after.accessToken!, after.refreshToken!);
    expect(after.version).toBe(tokens.version! + 1);
    expect(after.accessToken).not.toBe(tokens.accessToken);
    for (const r of results) {
      expect(r.status, r.text).toBe(200);
      expect(r.headers["cache-control"]).toBe("no-store");
      expect(r.json.access_token).toBe(after.accessToken);
      expect(new Date(r.json.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    }
    expect(new Set(results.map((r) => r.headers["x-request-id"])).size).toBe(50);
    expect(await userinfo(after.accessToken!)).toBe(200);
    expect(await introspect(after.accessToken!)).toMatchObject({ active: true });
  });

  it("every token call is audited (api.getToken, outcome, status) and no secret is in the audit trail", async () => {
    const { db } = getDb();
    expect(calls.length).toBeGreaterThan(60);
    await expectAudited(db, calls);
    const rows = await db.auditEvent.findMany({ where: { organizationId: org, action: "api.getToken" } });
    for (const r of rows) expect(r.targetType).toBe("connection");
    expectNoSecrets(await auditText(db), secrets);
  });
});
