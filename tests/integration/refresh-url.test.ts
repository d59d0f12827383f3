// Seed 001 (trocco): the generic provider's optional refresh-token URL. Against an authorization server
// whose token URL refuses refresh_token grants (400 unsupported_grant_type) and whose separate refresh
// URL takes them: consent exchanges the code at the token URL, and a forced refresh goes to the refresh
// URL and succeeds, with the connection's client authentication. Without a refresh URL, refreshes go to
// the token URL (and against this server fail there, which shows the refresh URL is what made it work).
import crypto from "node:crypto";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";
import { callbackFor, expectLoopbackAllowance } from "../helpers/consent";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { connectViaConsent, readConnection, storedTokens } from "../helpers/lifecycle";
import { followAuthorize } from "../fixtures/http-emulator";
import { createGenericAs, type GenericAs } from "../fixtures/generic-as";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { refreshConnection } from "@/lib/tokens/refresh-connection";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

const PROVIDER = "generic-oauth2";
let as: GenericAs;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  as = await createGenericAs({ redirectUris: [callbackFor(PROVIDER)], tokenUrlRefreshes: false });
});
afterAll(async () => as?.close());
beforeEach(() => {
  as.configure({ tokenUrlRefreshes: false });
  as.resetRecording();
});

/** path and grant of every token request the server received, in order */
const grantsSeen = () => as.tokenRequests.map((r) => `${r.path} ${r.form.grant_type}`);

async function connect(t: TestDatabase, settings: Record<string, unknown>) {
  const org = await seedOrg(t.db);
  const { connectionId } = await connectViaConsent({
    db: t.db,
    organizationId: org.id,
    provider: PROVIDER,
    settings: { authorization_url: as.authorizationUrl, token_url: as.tokenUrl, ...settings },
    scopes: ["api:read"],
    app: as.client,
    authorize: (url) => followAuthorize(url, { origins: [as.url] }),
    name: `refresh-url ${crypto.randomBytes(3).toString("hex")}`,
  });
  return { organizationId: org.id, connectionId };
}

describeEachDb("generic OAuth 2.0: the optional refresh URL", (getDb) => {
  it("consent exchanges the code at the token URL; a forced refresh goes to the refresh URL and succeeds; the token URL never sees a refresh grant", async () => {
    const t = getDb();
    const { organizationId, connectionId } = await connect(t, { refresh_url: as.refreshUrl });
    expect(grantsSeen()).toEqual(["/token authorization_code"]);
    const before = await storedTokens(t.db, connectionId);
    expect(before.refreshToken).toMatch(/^rt-/);

    // the stored token is still valid for an hour: only `force` (the provider refused it) makes this refresh
    const fresh = await getFreshToken({ db: t.db, organizationId, connectionId, force: true });
    expect(fresh.minValidityMet).toBe(true);
    expect(fresh.accessToken).not.toBe(before.accessToken);

    expect(grantsSeen()).toEqual(["/token authorization_code", "/refresh refresh_token"]);
    const refresh = as.tokenRequests[1]!;
    expect(refresh.method).toBe("POST");
    // seed 001's refresh body, with the connection's client authentication (client_secret_post by default)
    expect(refresh.form).toEqual({
      grant_type: "refresh_token",
      refresh_token: before.refreshToken,
      client_id: as.client.client_id,
      client_secret: as.client.client_secret,
    });
    expect(as.counters.refreshed).toBe(1);
    expect(as.counters.tokenErrors).toBe(0);

    const after = await storedTokens(t.db, connectionId);
    expect(after.accessToken).toBe(fresh.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken); // rotated by the server, swapped in
    expect(after.version).toBe(before.version! + 1);
    expect(after.connection).toMatchObject({ status: "active", refreshAttempts: 0, lastErrorCode: null });
    const audit = await t.db.auditEvent.findMany({ where: { targetId: connectionId, action: "connection.refreshed" } });
    expect(audit).toHaveLength(1);
  });

  it("client_secret_basic is used at the refresh URL too (credentials only in the Authorization header)", async () => {
    const t = getDb();
    const { connectionId } = await connect(t, { refresh_url: as.refreshUrl, client_auth: "client_secret_basic" });
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "refreshed" });
    expect(grantsSeen()).toEqual(["/token authorization_code", "/refresh refresh_token"]);
    const refresh = as.tokenRequests[1]!;
    expect(refresh.headers.authorization).toMatch(/^Basic /);
    expect(refresh.form.client_id).toBeUndefined();
    expect(refresh.form.client_secret).toBeUndefined();
  });

  it("without a refresh URL the refresh goes to the token URL", async () => {
    const t = getDb();
    as.configure({ tokenUrlRefreshes: true });
    const { organizationId, connectionId } = await connect(t, {});
    const before = await storedTokens(t.db, connectionId);
    const fresh = await getFreshToken({ db: t.db, organizationId, connectionId, force: true });
    expect(fresh.accessToken).not.toBe(before.accessToken);
    expect(grantsSeen()).toEqual(["/token authorization_code", "/token refresh_token"]);
    expect(as.requests.filter((r) => r.path === "/refresh")).toHaveLength(0);
    expect(as.tokenRequests[1]!.form).toMatchObject({
      grant_type: "refresh_token",
      refresh_token: before.refreshToken,
    });
  });

  it("without a refresh URL, a token URL that refuses refresh grants fails the refresh (unsupported_grant_type) and the stored token is kept", async () => {
    const t = getDb();
    const { organizationId, connectionId } = await connect(t, {});
    const before = await storedTokens(t.db, connectionId);
    const outcome = await refreshConnection({ db: t.db, connectionId, reason: "on_demand" });
    expect(outcome).toMatchObject({ result: "failed", errorCode: "unsupported_grant_type" });
    expect(grantsSeen()).toEqual(["/token authorization_code", "/token refresh_token"]);
    const after = await storedTokens(t.db, connectionId);
    expect(after.accessToken).toBe(before.accessToken);
    expect(after.refreshToken).toBe(before.refreshToken);
    expect(after.version).toBe(before.version);
    // and the still-valid token is what a caller gets
    const served = await getFreshToken({ db: t.db, organizationId, connectionId });
    expect(served.accessToken).toBe(before.accessToken);
    expect((await readConnection(t.db, connectionId)).lastErrorCode).toBe("unsupported_grant_type");
  });
});
