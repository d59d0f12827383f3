// REST API authentication, scopes and isolation for EVERY endpoint of the route table (SECURITY 36):
// no key, malformed, unknown, revoked and expired keys → the same 401; a key lacking the route's
// scope → 403; another organization's connection → 404 indistinguishable from a missing one; a key
// in the query string → 400. Every answer is problem+json, and every call is audited without the key:
// the 401s in aggregate (one row per address), every other call in a row of its own.
import { beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  // this suite sends ~100 wrong keys from one address: it is about the answers, not about the lockout
  // after too many (tests/integration/api-auth-failures.test.ts); nor may a timer end an audit interval midway
  process.env.CONSENTRY_API_AUTH_FAILURES_PER_IP = "100000";
  process.env.CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS = "3600";
});

import { API_ROUTES, type ApiRoute } from "@/lib/api/routes";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { flushAuthFailureAudit } from "@/lib/audit/auth-failure-audit";
import { describeEachDb } from "../helpers/db";
import { seedConnection, seedOrg, seedTokenSet } from "../helpers/factories";
import {
  ALL_SCOPES,
  api,
  auditText,
  expectAudited,
  expectNoSecrets,
  expectProblem,
  minimalBody,
  newApiKey,
  pathOf,
  unknownKey,
  type ApiResult,
  type TestKey,
} from "../helpers/api";

const idRoutes = API_ROUTES.filter((r) => r.path.includes("{id}"));

describe("the route table", () => {
  it("has the endpoints of the contract (API.md)", () => {
    expect(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [
        "GET /api/v1/providers",
        "GET /api/v1/connections",
        "POST /api/v1/connections",
        "GET /api/v1/connections/{id}",
        "POST /api/v1/connections/{id}/consent-link",
        "POST /api/v1/connections/{id}/token",
        "POST /api/v1/connections/{id}/app-token",
        "POST /api/v1/connections/{id}/test",
        "DELETE /api/v1/connections/{id}",
        "GET /api/v1/connections/{id}/activity/subscriptions",
        "POST /api/v1/connections/{id}/activity/subscriptions",
        "DELETE /api/v1/connections/{id}/activity/subscriptions/{content_type}",
        "GET /api/v1/connections/{id}/activity/content",
        "GET /api/v1/connections/{id}/activity/content/{content_id}",
        "POST /api/v1/connections/{id}/activity/content/{content_id}/ack",
        "PATCH /api/v1/connections/{id}",
        "POST /api/v1/connections/{id}/export",
        "POST /api/v1/connections/import",
        "GET /api/v1/oauth-apps",
        "GET /api/v1/webhook-endpoints",
        "POST /api/v1/webhook-endpoints",
        "DELETE /api/v1/webhook-endpoints/{id}",
        "POST /api/v1/connect-sessions",
        "GET /api/v1/connect-sessions/{id}",
        "DELETE /api/v1/connect-sessions/{id}",
      ].sort(),
    );
  });
});

describeEachDb("REST API authentication, scopes and isolation", (getDb) => {
  let orgA: string;
  let orgB: string;
  let keyA: TestKey;
  let keyB: TestKey;
  let revoked: TestKey;
  let expired: TestKey;
  /** another organization's connections, one per provider kind the id routes serve */
  let otherGeneric: string;
  let otherMicrosoft: string;
  const audited: Array<{ res: ApiResult; routeId: string; organizationId: string | null }> = [];
  /** the 401s, audited in aggregate */
  const failed: ApiResult[] = [];
  const keys: string[] = [];

  beforeAll(async () => {
    const { db } = getDb();
    orgA = (await seedOrg(db)).id;
    orgB = (await seedOrg(db)).id;
    keyA = await newApiKey(db, orgA);
    keyB = await newApiKey(db, orgB);
    revoked = await newApiKey(db, orgA, ALL_SCOPES, "revoked");
    expired = await newApiKey(db, orgA, ALL_SCOPES, "expired");
    keys.push(keyA.key, keyB.key, revoked.key, expired.key);
    // B's connections are active and hold tokens: a 404 for A cannot come from a missing token
    const g = await seedConnection(db, { organizationId: orgB, providerId: "generic-oauth2" });
    await db.connection.update({
      where: { id: g.id },
      data: { externalTenantId: "tenant-b", expiresAt: new Date(Date.now() + 3600_000) },
    });
    await seedTokenSet(db, { connection: g, accessToken: "canary-b-access", refreshToken: "canary-b-refresh" });
    otherGeneric = g.id;
    const m = await seedConnection(db, { organizationId: orgB, providerId: "microsoft-365-management" });
    await db.connection.update({
      where: { id: m.id },
      data: { externalTenantId: "41463f53-8812-40f4-890f-865bf6e35190", expiresAt: new Date(Date.now() + 3600_000) },
    });
    await seedTokenSet(db, { connection: m, accessToken: "canary-b-ms-access" });
    otherMicrosoft = m.id;
  });

  async function call(
    route: ApiRoute,
    opts: { key?: string | null; headers?: Record<string, string>; query?: string; id?: string },
    expectOrg: string | null,
  ) {
    const res = await api(getDb().db, route.method, `${pathOf(route, opts.id)}${opts.query ?? ""}`, {
      key: opts.key,
      headers: opts.headers,
      body: minimalBody(route),
    });
    if (res.status === 401) failed.push(res);
    else audited.push({ res, routeId: route.id, organizationId: expectOrg });
    return res;
  }

  for (const route of API_ROUTES) {
    const label = `${route.method} ${route.path}`;

    it(`${label}: no key, a non-Bearer header, malformed keys → 401 unauthorized`, async () => {
      expectProblem(await call(route, {}, null), 401, "unauthorized");
      expectProblem(
        await call(route, { headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } }, null),
        401,
        "unauthorized",
      );
      expectProblem(await call(route, { headers: { authorization: "Bearer" } }, null), 401, "unauthorized");
      for (const bad of [
        "csk_short",
        `csk_${"A".repeat(42)}!`,
        `sk_${"A".repeat(43)}`,
        `${keyA.key}x`,
        keyA.key.slice(0, -1),
      ]) {
        expectProblem(await call(route, { key: bad }, null), 401, "unauthorized");
      }
    });

    it(`${label}: unknown, revoked and expired keys → the same 401`, async () => {
      const unknown = await call(route, { key: unknownKey() }, null);
      const rev = await call(route, { key: revoked.key }, null);
      const exp = await call(route, { key: expired.key }, null);
      for (const r of [unknown, rev, exp]) expectProblem(r, 401, "unauthorized");
      // indistinguishable: a caller cannot tell a revoked or expired key from one that never existed
      expect(rev.json).toEqual(unknown.json);
      expect(exp.json).toEqual(unknown.json);
    });

    it(`${label}: a key in the query string → 400, even with a valid Authorization header`, async () => {
      for (const query of [
        `?api_key=${keyA.key}`,
        `?token=${keyA.key}`,
        `?access_token=x`,
        `?foo=${keyA.key}`,
        `?provider=x&apikey=${keyA.key}`,
      ]) {
        const res = await call(route, { key: keyA.key, query }, null);
        expectProblem(res, 400, "bad-request");
        expect(res.json.detail).toMatch(/Authorization header/);
        expectNoSecrets(res.text, [keyA.key]);
      }
    });

    it(`${label}: a key without "${route.scope}" → 403 forbidden`, async () => {
      const { db } = getDb();
      const others = ALL_SCOPES.filter((s) => s !== route.scope);
      const narrow = await newApiKey(db, orgA, others);
      keys.push(narrow.key);
      const res = await call(route, { key: narrow.key, id: otherGeneric }, orgA);
      expectProblem(res, 403, "forbidden");
      expect(res.json.required_scope).toBe(route.scope);
      // the scope is checked before the resource: B's id does not turn a 403 into a 404 or vice versa
    });
  }

  for (const route of idRoutes) {
    it(`${route.method} ${route.path}: another organization's connection → 404, the same answer as a nonexistent id`, async () => {
      const missing = "c0ffee00-0000-4000-8000-000000000000";
      const other = route.id === "getAppToken" ? otherMicrosoft : otherGeneric;
      const foreign = await call(route, { key: keyA.key, id: other }, orgA);
      const none = await call(route, { key: keyA.key, id: missing }, orgA);
      expectProblem(foreign, 404, "not-found");
      expectProblem(none, 404, "not-found");
      const normalise = (r: ApiResult, id: string) => JSON.parse(r.text.replaceAll(id, "<id>")) as unknown;
      expect(normalise(foreign, other)).toEqual(normalise(none, missing));
      expect(Object.keys(foreign.headers).sort()).toEqual(Object.keys(none.headers).sort());
      expectNoSecrets(foreign.text, ["canary-b-access", "canary-b-refresh", "canary-b-ms-access"]);
    });
  }

  it("B's own key reaches B's connection (the 404s above are isolation, not a missing row)", async () => {
    const get = API_ROUTES.find((r) => r.id === "getConnection")!;
    const res = await call(get, { key: keyB.key, id: otherGeneric }, orgB);
    expect(res.status).toBe(200);
    expect(res.json.id).toBe(otherGeneric);
  });

  it("unknown endpoints → 404 and wrong methods → 405 with Allow naming the allowed ones, as problem+json", async () => {
    const { db } = getDb();
    const nope = await api(db, "GET", "/api/v1/nope", { key: keyA.key });
    expectProblem(nope, 404, "not-found");
    const put = await api(db, "PUT", "/api/v1/connections", { key: keyA.key, body: {} });
    expectProblem(put, 405, "method-not-allowed");
    expect(put.json.detail).toMatch(/GET, POST/);
    expect(put.headers.allow).toBe("GET, POST");
    // a malformed %-escape in the id is an unknown resource, not a server error
    const bad = await api(db, "POST", "/api/v1/connections/%E0%A4%A/token", { key: keyA.key, body: {} });
    expectProblem(bad, 404, "not-found");
  });

  it("a caller's safe X-Request-Id is echoed and audited; an unsafe one is replaced, never reflected", async () => {
    const { db } = getDb();
    const get = API_ROUTES.find((r) => r.id === "getConnection")!;
    const mine = await api(db, "GET", pathOf(get, otherGeneric), {
      key: keyB.key,
      headers: { "x-request-id": "job-42.run_7" },
    });
    expect(mine.status).toBe(200);
    expect(mine.headers["x-request-id"]).toBe("job-42.run_7");
    const unsafe = await api(db, "GET", pathOf(get, otherGeneric), {
      key: keyB.key,
      headers: { "x-request-id": "<script>alert(1)</script>" },
    });
    expect(unsafe.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const tooLong = await api(db, "GET", pathOf(get, otherGeneric), {
      key: keyB.key,
      headers: { "x-request-id": "a".repeat(129) },
    });
    expect(tooLong.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    await flushAuditBuffer();
    const row = await db.auditEvent.findFirst({ where: { requestId: "job-42.run_7" } });
    expect(row).toMatchObject({ organizationId: orgB, action: "api.getConnection", outcome: "success" });
    expect(await db.auditEvent.count({ where: { requestId: { contains: "script" } } })).toBe(0);
  });

  it("every call above is in the audit trail (action, organization, outcome, status), and no API key is", async () => {
    const { db } = getDb();
    expect(audited.length).toBeGreaterThan(API_ROUTES.length * 6);
    const rows = await expectAudited(db, audited);
    // the 403s: refused after authentication, so on the record of the key's organization
    const denied = rows.filter((r) => r.outcome === "denied");
    expect(denied.length).toBe(API_ROUTES.length);
    for (const r of rows.filter((x) => x.organizationId === null)) expect(r.actorType).toBe("anonymous");
    for (const r of rows.filter((x) => x.organizationId !== null)) expect(r.actorType).toBe("api_key");
    expect(rows.every((r) => r.ip === "198.51.100.7")).toBe(true);

    // the 401s (8 for missing and malformed keys, 3 for unknown, revoked and expired ones, per route): one row for
    // the caller's address with their number, for abuse investigation, and none of their own
    expect(failed).toHaveLength(API_ROUTES.length * 11);
    await flushAuthFailureAudit();
    const aggregate = await db.auditEvent.findMany({ where: { action: "api.auth_failed" } });
    expect(aggregate).toHaveLength(1);
    expect(aggregate[0]).toMatchObject({
      organizationId: null,
      actorType: "anonymous",
      outcome: "denied",
      ip: "198.51.100.7",
      requestId: null,
    });
    expect(JSON.parse(aggregate[0]!.details)).toMatchObject({ count: failed.length, refused: 0, lockouts: 0 });
    expect(
      await db.auditEvent.count({ where: { requestId: { in: failed.map((r) => r.headers["x-request-id"]!) } } }),
    ).toBe(0);
    expectNoSecrets(await auditText(db), [...keys, "canary-b-access", "canary-b-refresh", "canary-b-ms-access"]);
  });
});
