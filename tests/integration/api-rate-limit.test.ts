// Per-key and per-organization rate limits of the REST API (SECURITY 37): low limits configured
// through the environment before lib/env is first read → 429 rate-limited with Retry-After, per key
// and per organization, other organizations unaffected; the 429s are audited.
import { beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_API_RATE_PER_KEY = "5";
  process.env.CONSENTRY_API_RATE_PER_ORG = "8";
});

import { env } from "@/lib/env";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { api, expectAudited, expectProblem, newApiKey, type ApiResult } from "../helpers/api";

beforeAll(() => {
  expect(env()).toMatchObject({ apiRatePerKey: 5, apiRatePerOrg: 8 });
});

describeEachDb("REST API rate limits", (getDb) => {
  const calls: Array<{ res: ApiResult; routeId: string; organizationId: string | null }> = [];
  const list = async (key: string, organizationId: string) => {
    const res = await api(getDb().db, "GET", "/api/v1/providers", { key });
    calls.push({ res, routeId: "listProviders", organizationId });
    return res;
  };

  it("per key: the 6th call in a minute → 429 with Retry-After; another key of the same organization still works", async () => {
    const { db } = getDb();
    const org = (await seedOrg(db)).id;
    const k1 = await newApiKey(db, org);
    const k2 = await newApiKey(db, org);
    for (let i = 0; i < 5; i++) expect((await list(k1.key, org)).status).toBe(200);
    const limited = await list(k1.key, org);
    expectProblem(limited, 429, "rate-limited");
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.json.detail).toMatch(/per API key/);
    // the same key on another endpoint shares the budget
    expectProblem(await api(db, "GET", "/api/v1/connections", { key: k1.key }), 429, "rate-limited");
    expect((await list(k2.key, org)).status).toBe(200);
  });

  it("per organization: keys of one organization share 8 calls a minute; another organization is unaffected", async () => {
    const { db } = getDb();
    const org = (await seedOrg(db)).id;
    const keys = await Promise.all([newApiKey(db, org), newApiKey(db, org), newApiKey(db, org)]);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await list(keys[i % 3]!.key, org)).status);
    expect(statuses.slice(0, 8)).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
    expect(statuses[8]).toBe(429);
    const limited = await list(keys[0]!.key, org);
    expectProblem(limited, 429, "rate-limited");
    expect(limited.json.detail).toMatch(/per organization/);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);

    const other = (await seedOrg(db)).id;
    const otherKey = await newApiKey(db, other);
    expect((await list(otherKey.key, other)).status).toBe(200);
  });

  it("rejected calls are audited as failures with status 429", async () => {
    const rows = await expectAudited(getDb().db, calls);
    expect(rows.filter((r) => JSON.parse(r.details).status === 429).length).toBeGreaterThanOrEqual(3);
  });
});
