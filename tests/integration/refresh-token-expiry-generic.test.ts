// The generic provider reads `refresh_token_expires_in` (seed 002 sends it for Webex; many servers a
// customer brings send it too): Connection.refreshTokenExpiresAt is recorded at consent, updated by a
// refresh that says a new one, and drives the connection.refresh_token_expiring warning. A server that
// says nothing leaves it unknown (null), and a refresh that hands out no new refresh token keeps it.
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";
import { callbackFor, expectLoopbackAllowance } from "../helpers/consent";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { connectViaConsent, readConnection } from "../helpers/lifecycle";
import { followAuthorize } from "../fixtures/http-emulator";
import { createGenericAs, type GenericAs } from "../fixtures/generic-as";
import { encryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { warnExpiringRefreshTokens } from "@/lib/tokens/refresh-due";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

const PROVIDER = "generic-oauth2";
const DAY = 86400_000;
const NINETY_DAYS_S = 7_776_000;
let as: GenericAs;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  as = await createGenericAs({ redirectUris: [callbackFor(PROVIDER)] });
});
afterAll(async () => as?.close());
beforeEach(() => {
  as.configure({ refreshTokenExpiresIn: undefined, rotate: true });
  as.resetRecording();
});

async function connect(t: TestDatabase) {
  const org = await seedOrg(t.db);
  // a webhook endpoint subscribed to the warning, so that the event is queued where it can be seen
  const endpoint = await t.db.webhookEndpoint.create({
    data: {
      organizationId: org.id,
      url: "https://hooks.example.test/consentry",
      secretEnc: "pending",
      events: "connection.refresh_token_expiring",
    },
  });
  await t.db.webhookEndpoint.update({
    where: { id: endpoint.id },
    data: { secretEnc: encryptSecret("whsec-test", contextFor("WebhookEndpoint", endpoint, "secretEnc")) },
  });
  const { connectionId } = await connectViaConsent({
    db: t.db,
    organizationId: org.id,
    provider: PROVIDER,
    settings: { authorization_url: as.authorizationUrl, token_url: as.tokenUrl },
    scopes: ["api:read"],
    app: as.client,
    authorize: (url) => followAuthorize(url, { origins: [as.url] }),
  });
  return { organizationId: org.id, connectionId };
}

const warningsFor = async (t: TestDatabase, connectionId: string) =>
  (await t.db.webhookDelivery.findMany({ where: { eventType: "connection.refresh_token_expiring" } })).filter(
    (d) => (JSON.parse(d.payload) as { data: { connection: { id: string } } }).data.connection.id === connectionId,
  );

/** `at` is `seconds` after some instant between `from` and `to` (the token request's send time). */
function expectAbout(at: Date | null, seconds: number, from: number, to: number) {
  expect(at).not.toBeNull();
  expect(at!.getTime()).toBeGreaterThanOrEqual(from + seconds * 1000);
  expect(at!.getTime()).toBeLessThanOrEqual(to + seconds * 1000);
}

describeEachDb("generic OAuth 2.0: refresh_token_expires_in", (getDb) => {
  it("consent records it (90 days); a refresh saying a new value updates it; inside the horizon the warning is sent once", async () => {
    const t = getDb();
    as.configure({ refreshTokenExpiresIn: NINETY_DAYS_S });
    const started = Date.now();
    const { connectionId } = await connect(t);
    const c0 = await readConnection(t.db, connectionId);
    expectAbout(c0.refreshTokenExpiresAt, NINETY_DAYS_S, started, Date.now());
    expect(as.tokenRequests.at(-1)!.form.grant_type).toBe("authorization_code");
    // far from the horizon: no warning
    await warnExpiringRefreshTokens({ db: t.db, now: new Date() });
    expect((await readConnection(t.db, connectionId)).refreshTokenWarnedAt).toBeNull();
    expect(await warningsFor(t, connectionId)).toHaveLength(0);

    // the server now issues refresh tokens that live 5 days: inside the 14-day warning horizon
    as.configure({ refreshTokenExpiresIn: 5 * 86400 });
    const refreshedAt = Date.now();
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "refreshed" });
    const c1 = await readConnection(t.db, connectionId);
    expectAbout(c1.refreshTokenExpiresAt, 5 * 86400, refreshedAt, Date.now());
    // refreshed again before the refresh token lapses, whatever the access token's lifetime
    expect(c1.nextRefreshAt!.getTime()).toBeLessThan(c1.refreshTokenExpiresAt!.getTime());

    await warnExpiringRefreshTokens({ db: t.db, now: new Date() });
    await warnExpiringRefreshTokens({ db: t.db, now: new Date() });
    expect((await readConnection(t.db, connectionId)).refreshTokenWarnedAt).not.toBeNull();
    const warned = await warningsFor(t, connectionId);
    expect(warned).toHaveLength(1);
    expect(JSON.parse(warned[0]!.payload)).toMatchObject({
      type: "connection.refresh_token_expiring",
      data: { refresh_token_expires_at: c1.refreshTokenExpiresAt!.toISOString() },
    });

    // a refresh that hands out a long-lived token again leaves the horizon: the warning is re-armed
    as.configure({ refreshTokenExpiresIn: NINETY_DAYS_S });
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "refreshed" });
    const c2 = await readConnection(t.db, connectionId);
    expect(c2.refreshTokenExpiresAt!.getTime() - Date.now()).toBeGreaterThan(89 * DAY);
    expect(c2.refreshTokenWarnedAt).toBeNull();
  });

  it("a refresh that returns no new refresh token keeps the recorded expiry", async () => {
    const t = getDb();
    as.configure({ refreshTokenExpiresIn: NINETY_DAYS_S });
    const { connectionId } = await connect(t);
    const c0 = await readConnection(t.db, connectionId);
    expect(c0.refreshTokenExpiresAt).not.toBeNull();
    as.configure({ rotate: false, refreshTokenExpiresIn: 60 }); // said without a refresh token: ignored
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "refreshed" });
    const c1 = await readConnection(t.db, connectionId);
    expect(c1.tokenSet!.version).toBe(c0.tokenSet!.version + 1);
    expect(c1.refreshTokenExpiresAt).toEqual(c0.refreshTokenExpiresAt);
  });

  it("absent: the expiry stays unknown (null) at consent and after refreshes, and no warning is sent", async () => {
    const t = getDb();
    const { connectionId } = await connect(t);
    expect((await readConnection(t.db, connectionId)).refreshTokenExpiresAt).toBeNull();
    expect(as.tokenRequests.at(-1)!.form.grant_type).toBe("authorization_code");
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "refreshed" });
    const c1 = await readConnection(t.db, connectionId);
    expect(c1.refreshTokenExpiresAt).toBeNull();
    expect(c1.nextRefreshAt).not.toBeNull(); // still scheduled by the access token's expiry
    await warnExpiringRefreshTokens({ db: t.db, now: new Date(Date.now() + 365 * DAY) });
    expect(await warningsFor(t, connectionId)).toHaveLength(0);
  });
});
