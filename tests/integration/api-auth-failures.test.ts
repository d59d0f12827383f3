// Failed API-key authentication is limited per client address and audited in aggregate (SECURITY 45):
// a flood of wrong keys from one address gets 401 up to the configured threshold, then 429 with
// Retry-After for every request from that address, answered before any database read, until the
// window has passed; another address with a valid key is served throughout. The 401s and 429s are
// audited as one `api.auth_failed` row per address per interval, never one per request, and without
// any part of the presented keys. The clock is frozen (Date only) so that the window's edges are exact.
import { afterEach, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_API_AUTH_FAILURES_PER_IP = "5";
  process.env.CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS = "120";
  // an interval ends only when a test flushes it, never by the timer in the middle of a test
  process.env.CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS = "3600";
});

import { env } from "@/lib/env";
import { hotQueries } from "@/lib/db/hot-queries";
import { flushAuthFailureAudit } from "@/lib/audit/auth-failure-audit";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import {
  api,
  auditText,
  expectAudited,
  expectNoSecrets,
  expectProblem,
  newApiKey,
  unknownKey,
  type ApiResult,
  type TestKey,
} from "../helpers/api";

const MISSING = "00000000-0000-4000-8000-000000000000";

beforeAll(() => {
  expect(env()).toMatchObject({
    apiAuthFailuresPerIp: 5,
    apiAuthFailureWindowSeconds: 120,
    apiAuthFailureAuditSeconds: 3600,
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describeEachDb("failed API authentication per client address", (getDb) => {
  // the limit is kept per process, across databases: each engine's suite has addresses of its own
  let attacker: string;
  let neighbour: string;
  let organizationId: string;
  let valid: TestKey;
  let T0: number;
  /** the wrong keys sent (none may reach the audit trail, not even their prefix) */
  const wrongKeys: string[] = [];
  /** every 401 and 429 answered (none may have a row of its own) */
  const denied: ApiResult[] = [];
  /** the calls that were served (each keeps its row) */
  const served: Array<{ res: ApiResult; routeId: string; organizationId: string }> = [];

  const wrong = () => {
    const key = unknownKey();
    wrongKeys.push(key);
    return key;
  };

  beforeAll(async () => {
    const { db, kind } = getDb();
    const n = kind === "sqlite" ? 10 : 20;
    attacker = `203.0.113.${n}`;
    neighbour = `203.0.113.${n + 1}`;
    organizationId = (await seedOrg(db)).id;
    valid = await newApiKey(db, organizationId);
  });

  it("a flood of wrong keys from one address: 401 up to the threshold, then 429 with Retry-After for every request, with no database read", async () => {
    const { db } = getDb();
    T0 = Date.now();
    vi.useFakeTimers({ toFake: ["Date"], now: T0 });
    const hot = hotQueries(db);
    const byHash = vi.spyOn(hot, "apiKeyByHash");
    const withConnection = vi.spyOn(hot, "apiKeyWithConnection");

    // well-formed unknown keys on both kinds of endpoint: each one is looked up, then refused
    for (let i = 0; i < 5; i++) {
      const res =
        i % 2
          ? await api(db, "GET", "/api/v1/connections", { key: wrong(), ip: attacker })
          : await api(db, "POST", `/api/v1/connections/${MISSING}/token`, { key: wrong(), body: {}, ip: attacker });
      expectProblem(res, 401, "unauthorized");
      denied.push(res);
    }
    // the spies see the lookups a refused key costs: their silence below means something
    expect(byHash).toHaveBeenCalledTimes(2);
    expect(withConnection).toHaveBeenCalledTimes(3);

    const blocked = [
      await api(db, "GET", "/api/v1/connections", { key: wrong(), ip: attacker }),
      await api(db, "POST", `/api/v1/connections/${MISSING}/token`, { key: wrong(), body: {}, ip: attacker }),
      await api(db, "GET", "/api/v1/connections", { key: "csk_malformed", ip: attacker }),
      await api(db, "GET", "/api/v1/providers", { ip: attacker }),
      // a valid key does not open a locked-out address either
      await api(db, "GET", "/api/v1/providers", { key: valid.key, ip: attacker }),
      await api(db, "GET", "/api/v1/no-such-endpoint", { key: wrong(), ip: attacker }),
      // the same peer as Node reports it on a dual-stack socket
      await api(db, "GET", "/api/v1/connections", { key: wrong(), ip: `::ffff:${attacker}` }),
    ];
    for (const res of blocked) {
      expectProblem(res, 429, "rate-limited");
      expect(res.headers["retry-after"]).toBe("120");
      expect(res.json.detail).toMatch(/Too many failed authentications from this address \(5 within 120 s\)/);
      denied.push(res);
    }
    expect(byHash).toHaveBeenCalledTimes(2);
    expect(withConnection).toHaveBeenCalledTimes(3);
  });

  it("a valid key from another address is still served, and a wrong key from there has a budget of its own", async () => {
    const { db } = getDb();
    const list = await api(db, "GET", "/api/v1/connections", { key: valid.key, ip: neighbour });
    expect(list.status, list.text).toBe(200);
    served.push({ res: list, routeId: "listConnections", organizationId });
    const providers = await api(db, "GET", "/api/v1/providers", { key: valid.key, ip: neighbour });
    expect(providers.status).toBe(200);
    served.push({ res: providers, routeId: "listProviders", organizationId });
    const refused = await api(db, "GET", "/api/v1/providers", { key: wrong(), ip: neighbour });
    expectProblem(refused, 401, "unauthorized");
    denied.push(refused);
    // the attacker is still locked out meanwhile
    const still = await api(db, "GET", "/api/v1/providers", { key: valid.key, ip: attacker });
    expectProblem(still, 429, "rate-limited");
    denied.push(still);
  });

  it("the same address is served again once the window has passed, and starts a fresh count", async () => {
    const { db } = getDb();
    vi.useFakeTimers({ toFake: ["Date"], now: T0 + 119_000 });
    const late = await api(db, "GET", "/api/v1/providers", { key: valid.key, ip: attacker });
    expectProblem(late, 429, "rate-limited");
    expect(late.headers["retry-after"]).toBe("1");
    denied.push(late);

    vi.setSystemTime(T0 + 120_000);
    const back = await api(db, "GET", "/api/v1/providers", { key: valid.key, ip: attacker });
    expect(back.status, back.text).toBe(200);
    served.push({ res: back, routeId: "listProviders", organizationId });
    // one more failure is the first of a new window, not a new lockout
    const again = await api(db, "GET", "/api/v1/providers", { key: wrong(), ip: attacker });
    expectProblem(again, 401, "unauthorized");
    denied.push(again);
    expect((await api(db, "GET", "/api/v1/providers", { key: valid.key, ip: attacker })).status).toBe(200);
  });

  it("the 401s and 429s are audited as one row per address for the interval, the served calls one row each, and no key is", async () => {
    const { db } = getDb();
    await flushAuthFailureAudit();
    const rows = await db.auditEvent.findMany({ where: { action: "api.auth_failed" }, orderBy: { ip: "asc" } });
    expect(rows.map((r) => r.ip)).toEqual([attacker, neighbour]);
    const anonymous = {
      organizationId: null,
      actorType: "anonymous",
      actorId: null,
      actorLabel: null,
      outcome: "denied",
      requestId: null,
      targetId: null,
    };
    for (const r of rows) expect(r).toMatchObject(anonymous);
    const [a, n] = rows.map((r) => JSON.parse(r.details) as Record<string, unknown>);
    // attacker: 5 failures, the lockout, 1 failure after it; 7 + 1 + 1 requests refused while locked out
    expect(a).toEqual({
      count: 6,
      refused: 9,
      lockouts: 1,
      first_at: new Date(T0).toISOString(),
      last_at: new Date(T0 + 120_000).toISOString(),
    });
    expect(n).toMatchObject({ count: 1, refused: 0, lockouts: 0 });
    expect(denied).toHaveLength(6 + 9 + 1);
    expect(
      await db.auditEvent.count({ where: { requestId: { in: denied.map((r) => r.headers["x-request-id"]!) } } }),
    ).toBe(0);
    await expectAudited(db, served);
    const text = await auditText(db);
    expectNoSecrets(text, [...wrongKeys, ...wrongKeys.map((k) => k.slice(0, 12)), valid.key]);
  });

  it("a later interval gets a row of its own", async () => {
    const { db } = getDb();
    for (let i = 0; i < 2; i++)
      expectProblem(await api(db, "GET", "/api/v1/providers", { key: wrong(), ip: neighbour }), 401, "unauthorized");
    await flushAuthFailureAudit();
    const rows = await db.auditEvent.findMany({
      where: { action: "api.auth_failed", ip: neighbour },
      orderBy: { createdAt: "asc" },
    });
    expect(rows.map((r) => (JSON.parse(r.details) as { count: number }).count)).toEqual([1, 2]);
  });
});
