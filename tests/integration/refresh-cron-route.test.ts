// POST /api/cron/refresh: off without CONSENTRY_CRON_SECRET (404), 401 without the right bearer
// secret, and with it the background refresh runs and answers a JSON summary. The route module is
// loaded fresh for each configuration (its db() and env() are process-wide).
import crypto from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import { followAuthorize } from "../fixtures/http-emulator";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { K1 } from "../helpers/keyring";
import { connectViaConsent, readConnection, storedTokens } from "../helpers/lifecycle";

const APP = {
  client_id: `C${crypto.randomBytes(16).toString("hex")}`,
  client_secret: crypto.randomBytes(24).toString("hex"),
};
const SECRET = crypto.randomBytes(32).toString("base64url");
let webex: WebexEmulator;

beforeAll(async () => {
  webex = await createWebexEmulator({
    integrations: [{ clientId: APP.client_id, clientSecret: APP.client_secret, redirectUris: [callbackUrl("webex")] }],
    accessTokenLifetimeSec: 3600,
  });
  setProviderHostOverridesForTests({ "https://webexapis.com": webex.url });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await webex?.close();
});

type G = { __consentryDb?: { $disconnect(): Promise<void> } };
async function dropGlobalDb() {
  const g = globalThis as unknown as G;
  await g.__consentryDb?.$disconnect();
  delete g.__consentryDb;
}
afterEach(async () => {
  await dropGlobalDb();
  vi.unstubAllEnvs();
});

/** The route module as the app would load it with this configuration. */
async function loadRoute(t: TestDatabase, cronSecret: string | undefined) {
  await dropGlobalDb();
  vi.resetModules();
  vi.stubEnv("DATABASE_URL", t.url);
  vi.stubEnv("CONSENTRY_ENCRYPTION_KEYS", K1);
  vi.stubEnv("CONSENTRY_PROVIDER_HOSTS", JSON.stringify({ "https://webexapis.com": webex.url }));
  vi.stubEnv("CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS", "true");
  vi.stubEnv("CONSENTRY_CRON_SECRET", cronSecret);
  return import("@/app/api/cron/refresh/route");
}

const post = (authorization?: string) =>
  new Request("http://localhost:3000/api/cron/refresh", {
    method: "POST",
    headers: authorization ? { authorization } : {},
  });

describeEachDb("POST /api/cron/refresh", (getDb) => {
  const dueConnection = async (t: TestDatabase) => {
    const org = await seedOrg(t.db);
    const { connectionId } = await connectViaConsent({
      db: t.db,
      organizationId: org.id,
      provider: "webex",
      app: APP,
      authorize: (url) => followAuthorize(url, { origins: [webex.url] }),
    });
    await t.db.connection.update({ where: { id: connectionId }, data: { nextRefreshAt: new Date(Date.now() - 1000) } });
    return connectionId;
  };
  /** leaves the next test's summary to its own connection */
  const notDue = (t: TestDatabase, id: string) =>
    t.db.connection.update({ where: { id }, data: { nextRefreshAt: new Date(Date.now() + 3600_000) } });

  it("without CONSENTRY_CRON_SECRET the route is off: 404 problem, nothing refreshed", async () => {
    const t = getDb();
    const id = await dueConnection(t);
    webex.resetRecording();
    const { POST } = await loadRoute(t, undefined);
    const res = await POST(post(`Bearer ${SECRET}`));
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 404, type: "https://consentry.dev/problems/not-found" });
    expect(String(body.detail)).toContain("CONSENTRY_CRON_SECRET");
    expect(webex.counters.tokenCalls).toBe(0);
    expect((await readConnection(t.db, id)).nextRefreshAt!.getTime()).toBeLessThan(Date.now());
    await notDue(t, id);
  });

  it("a wrong, missing or malformed secret → 401, nothing refreshed", async () => {
    const t = getDb();
    const id = await dueConnection(t);
    webex.resetRecording();
    const { POST } = await loadRoute(t, SECRET);
    for (const auth of [
      undefined,
      `Bearer ${SECRET}x`,
      `Bearer ${SECRET.slice(0, -1)}`,
      `Basic ${SECRET}`,
      SECRET,
      "Bearer ",
      `bearer ${SECRET}`,
    ]) {
      const res = await POST(post(auth));
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.text()).not.toContain(SECRET);
    }
    expect(webex.counters.tokenCalls).toBe(0);
    expect((await readConnection(t.db, id)).nextRefreshAt!.getTime()).toBeLessThan(Date.now());
    await notDue(t, id);
  });

  it("the right secret → 200 with the JSON summary; due connections refreshed", async () => {
    const t = getDb();
    const id = await dueConnection(t);
    const before = await storedTokens(t.db, id);
    webex.resetRecording();
    const { POST } = await loadRoute(t, SECRET);
    const res = await POST(post(`Bearer ${SECRET}`));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const summary = (await res.json()) as Record<string, unknown>;
    expect(summary).toMatchObject({
      due: 1,
      claimed: 1,
      refreshed: 1,
      skipped: 0,
      busy: 0,
      failed: {},
      webhooks: { attempted: 0, delivered: 0, failed: 0 },
    });
    expect(typeof summary.ms).toBe("number");
    expect(webex.counters.refreshed).toBe(1);
    const after = await storedTokens(t.db, id);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.connection.nextRefreshAt!.getTime()).toBeGreaterThan(Date.now() + 40 * 60_000);

    // nothing due any more: a second call is a no-op
    const again = (await (await POST(post(`Bearer ${SECRET}`))).json()) as Record<string, unknown>;
    expect(again).toMatchObject({ due: 0, claimed: 0, refreshed: 0 });
    expect(webex.counters.tokenCalls).toBe(1);
  });
});
