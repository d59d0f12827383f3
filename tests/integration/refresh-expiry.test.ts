// Refresh-token expiry (SECURITY.md Refresh 20, 21): a Webex-style refresh token with a short, known
// lifetime is refreshed before it lapses even while the access token is valid, and after it has lapsed
// the connection needs consent again; an idle Azure connection is kept alive by the schedule alone, so
// the 90-day inactivity rule (AADSTS700082) never fires; a missing expires_in leaves the 7-day
// keep-alive in charge.
import crypto from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { REFRESH_WINDOW_MS } from "@/lib/tokens/next-refresh-at";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { faults, followAuthorize } from "../fixtures/http-emulator";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { connectViaConsent, readConnection, storedTokens, waitFor } from "../helpers/lifecycle";

const DAY = 86400_000;
const WEBEX_APP = {
  client_id: `C${crypto.randomBytes(16).toString("hex")}`,
  client_secret: crypto.randomBytes(24).toString("hex"),
};
const TENANT = {
  tid: "0b7d2a34-5c6e-4f81-9d02-a1b2c3d4e5f6",
  name: "Northwind",
  adminUpn: "admin@northwind.onmicrosoft.com",
  adminName: "Northwind Admin",
};
const AZURE_APP = {
  clientId: "7c1e5a52-9d2b-4f0e-8a31-6b2d4c8e0f17",
  clientSecret: crypto.randomBytes(18).toString("base64url"),
};
/** the Webex-style refresh token's lifetime: refreshed at half of it, so a slow machine has seconds to spare */
const RT_SECONDS = 6;
/** the emulator's inactivity limit, shortened from 90 days so the simulation stays short */
const INACTIVE_DAYS = 10;

let webex: WebexEmulator;
let azure: AzureAdEmulator;

beforeAll(async () => {
  webex = await createWebexEmulator({
    integrations: [
      { clientId: WEBEX_APP.client_id, clientSecret: WEBEX_APP.client_secret, redirectUris: [callbackUrl("webex")] },
    ],
  });
  azure = await createAzureAdEmulator({
    tenants: [TENANT],
    apps: [{ ...AZURE_APP, redirectUris: [callbackUrl("microsoft-365-management")] }],
    refreshTokenMaxInactiveSec: INACTIVE_DAYS * 86400,
    // 30 days: parsed as at most 24 h, so the schedule refreshes daily
    accessTokenLifetimeSec: 30 * 86400,
  });
  setProviderHostOverridesForTests({
    "https://webexapis.com": webex.url,
    "https://login.windows.net": azure.url,
    "https://manage.office.com": azure.url,
  });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await webex?.close();
  await azure?.close();
});
afterEach(() => {
  vi.useRealTimers();
});

describeEachDb("Webex-style refresh-token expiry", (getDb) => {
  const connect = async (t: TestDatabase) => {
    const org = await seedOrg(t.db);
    const { connectionId } = await connectViaConsent({
      db: t.db,
      organizationId: org.id,
      provider: "webex",
      app: WEBEX_APP,
      authorize: (url) => followAuthorize(url, { origins: [webex.url] }),
    });
    return { organizationId: org.id, connectionId };
  };

  it(`a ${RT_SECONDS}-second refresh token (not extended on use) is refreshed before it lapses, though the access token is valid for an hour; once lapsed → needs_reconsent`, async () => {
    const t = getDb();
    webex.configure({
      accessTokenLifetimeSec: 3600,
      refreshTokenLifetimeSec: RT_SECONDS,
      extendRefreshTokenOnUse: false,
      rotateRefreshToken: false,
    });
    const consentAt = Date.now();
    const { connectionId } = await connect(t);
    const connectedAt = Date.now();
    const before = await storedTokens(t.db, connectionId);
    const c0 = before.connection;
    // refresh_token_expires_in recorded; the schedule follows the refresh token, not the access token
    expect(c0.refreshTokenExpiresAt!.getTime()).toBeGreaterThanOrEqual(consentAt + RT_SECONDS * 1000 - 1000);
    expect(c0.refreshTokenExpiresAt!.getTime()).toBeLessThanOrEqual(connectedAt + RT_SECONDS * 1000);
    expect(c0.expiresAt!.getTime() - Date.now()).toBeGreaterThan(3500_000);
    expect(c0.nextRefreshAt!.getTime()).toBeLessThan(c0.refreshTokenExpiresAt!.getTime());
    expect(c0.nextRefreshAt!.getTime()).toBeLessThan(c0.expiresAt!.getTime() - REFRESH_WINDOW_MS);
    webex.resetRecording();

    // not due yet: nothing happens (checked only if this machine got here in time)
    const early = await refreshDue({ db: t.db });
    if (Date.now() < c0.nextRefreshAt!.getTime()) {
      expect(early.due).toBe(0);
      expect(webex.counters.tokenCalls).toBe(0);
    }

    // due: refreshed while both tokens are still valid
    await waitFor(() => Date.now() >= c0.nextRefreshAt!.getTime(), { what: "nextRefreshAt" });
    expect(await refreshDue({ db: t.db })).toMatchObject({ refreshed: 1, failed: {} });
    expect(webex.counters.refreshed).toBe(1);
    const c1 = await storedTokens(t.db, connectionId);
    expect(c1.accessToken).not.toBe(before.accessToken);
    expect(c1.refreshToken).toBe(before.refreshToken); // Webex does not rotate
    // not extended on use: the provider's expiry stays, ours is recomputed from what it said and never later
    const lapse = webex.refreshTokens.find((r) => r.token === before.refreshToken)!.expiresAt;
    expect(lapse).toBeLessThanOrEqual(connectedAt + RT_SECONDS * 1000);
    expect(c1.connection.refreshTokenExpiresAt!.getTime()).toBeLessThanOrEqual(lapse);
    expect(c1.connection.nextRefreshAt!.getTime()).toBeLessThan(c1.connection.refreshTokenExpiresAt!.getTime());

    // the refresh token lapses at the provider: the next scheduled run ends in needs_reconsent
    await waitFor(() => Date.now() > lapse + 100, { what: "the refresh token to lapse" });
    expect(await refreshDue({ db: t.db })).toMatchObject({ due: 1, refreshed: 0, failed: { needs_reconsent: 1 } });
    const c2 = await readConnection(t.db, connectionId);
    expect(c2).toMatchObject({ status: "needs_reconsent", lastErrorCode: "invalid_grant", nextRefreshAt: null });
    // and no hot loop
    const calls = webex.counters.tokenCalls;
    expect((await refreshDue({ db: t.db })).due).toBe(0);
    expect(webex.counters.tokenCalls).toBe(calls);
  });

  it("no expires_in in a refresh response: a bounded default lifetime (not 'never'), refreshed again within a day", async () => {
    const t = getDb();
    webex.configure({
      accessTokenLifetimeSec: 1_209_599,
      refreshTokenLifetimeSec: 7_775_999,
      extendRefreshTokenOnUse: true,
      rotateRefreshToken: false,
    });
    const { connectionId } = await connect(t);
    const c0 = await readConnection(t.db, connectionId);
    // 14 days as sent are taken as at most 24 h
    expect(c0.nextRefreshAt!.getTime()).toBe(c0.expiresAt!.getTime() - REFRESH_WINDOW_MS);
    expect(c0.expiresAt!.getTime() - c0.lastRefreshedAt!.getTime()).toBeLessThanOrEqual(DAY + 5000);

    webex.failNext(faults.mutate(({ expires_in: _dropped, ...rest }) => rest));
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "refreshed" });
    const c1 = await readConnection(t.db, connectionId);
    const lifetime = c1.expiresAt!.getTime() - c1.lastRefreshedAt!.getTime();
    expect(lifetime).toBeGreaterThan(DAY - 60_000);
    expect(lifetime).toBeLessThanOrEqual(DAY);
    expect(c1.nextRefreshAt!.getTime()).toBe(c1.expiresAt!.getTime() - REFRESH_WINDOW_MS);
    expect(c1.nextRefreshAt!.getTime() - c1.lastRefreshedAt!.getTime()).toBeLessThanOrEqual(7 * DAY);
    // the Webex refresh token's known lifetime (90 days) is recorded
    expect(c1.refreshTokenExpiresAt!.getTime() - c1.lastRefreshedAt!.getTime()).toBeGreaterThan(89 * DAY);
  });
});

describeEachDb("Azure keep-alive", (getDb) => {
  let organizationId: string;
  beforeAll(async () => {
    organizationId = (await seedOrg(getDb().db)).id;
  });
  const connect = async (t: TestDatabase) =>
    (
      await connectViaConsent({
        db: t.db,
        organizationId,
        provider: "microsoft-365-management",
        app: { client_id: AZURE_APP.clientId, client_secret: AZURE_APP.clientSecret },
        authorize: (url) => followAuthorize(url, { origins: [azure.url] }),
      })
    ).connectionId;

  it(`an idle connection is refreshed by the schedule alone, never more than 7 days apart, so ${INACTIVE_DAYS}-day inactivity (AADSTS700082) never fires; left alone, it would`, async () => {
    const t = getDb();
    // fake Date only: the emulator's clock, the library and the database rows all move together
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const start = Date.now();
    const connectionId = await connect(t);
    let c = await readConnection(t.db, connectionId);
    expect(c.refreshTokenExpiresAt).toBeNull(); // Azure does not say; the keep-alive covers it
    const ours = new Set([(await storedTokens(t.db, connectionId)).refreshToken!]);
    const inactive = () => azure.refreshTokens.filter((r) => ours.has(r.token) && r.invalidWith === 700082);
    let refreshes = 0;
    while (Date.now() - start < 3 * INACTIVE_DAYS * DAY) {
      const gap = c.nextRefreshAt!.getTime() - c.lastRefreshedAt!.getTime();
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(7 * DAY);
      vi.setSystemTime(c.nextRefreshAt!.getTime() + 1000);
      expect(await refreshDue({ db: t.db })).toMatchObject({ due: 1, refreshed: 1, failed: {} });
      refreshes++;
      c = await readConnection(t.db, connectionId);
      ours.add((await storedTokens(t.db, connectionId)).refreshToken!);
    }
    expect(c.status).toBe("active");
    expect(refreshes).toBeGreaterThanOrEqual(3 * INACTIVE_DAYS);
    expect(ours.size).toBe(refreshes + 1); // rotated every time
    expect(inactive()).toEqual([]);

    // the control: the same connection left without refreshes for longer than the limit
    vi.setSystemTime(Date.now() + (INACTIVE_DAYS + 1) * DAY);
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toMatchObject({
      result: "failed",
      failureClass: "needs_reconsent",
      errorCode: "invalid_grant",
    });
    expect(inactive()).toHaveLength(1);
    expect(await readConnection(t.db, connectionId)).toMatchObject({ status: "needs_reconsent", nextRefreshAt: null });
  });
});
