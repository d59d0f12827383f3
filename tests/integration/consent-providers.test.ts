// Webex (seed 002), Backlog OAuth and API key (seed 003), Zoho Inventory (seed 004) and HubSpot
// (seed 001's example) against their emulators: request shapes, expiries, test calls, the headless
// paste path, and the SSRF rules that apply with the test loopback allowance on (SECURITY 28, 31).
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import {
  actor,
  authorizeAt,
  callbackFor,
  captureNextTokenResponse,
  deliverCallback,
  expectFailure,
  expectLoopbackAllowance,
  expectNothingStored,
  expectSuccess,
  newBrowser,
  newConnection,
  newOrg,
  runFlow,
  startFlow,
  storedTokens,
} from "../helpers/consent";
import { describeEachDb } from "../helpers/db";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import { createBacklogEmulator, type BacklogEmulator } from "../fixtures/backlog-emulator";
import { createZohoEmulator, type ZohoEmulator } from "../fixtures/zoho-emulator";
import { createHubSpotEmulator, type HubSpotEmulator } from "../fixtures/hubspot-emulator";
import { faults } from "../fixtures/http-emulator";
import { completeConsentFromPaste } from "@/lib/consent/complete-consent";
import { testConnection } from "@/lib/connections/test-connection";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import type { AppError } from "@/lib/errors";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

const WEBEX = { clientId: "C0123456789abcdef-webex", clientSecret: "webex-secret-0123456789abcdef" };
const HEADLESS_REDIRECT = "https://127.0.0.1/";
const BACKLOG = {
  clientId: "backlog-client-1",
  clientSecret: "backlog-secret-1",
  space: "acme.backlog.com",
  apiKey: "backlogApiKey0123456789abcdefABCDEF",
};
const ZOHO = { clientId: "1000.ZOHOCLIENT0001", clientSecret: "zoho-secret-0123456789", dc: "eu", org: "10234695" };
const HUBSPOT = { clientId: "hubspot-client-5f2e", clientSecret: "hubspot-secret-77aa" };

let webex: WebexEmulator;
let backlog: BacklogEmulator;
let zoho: ZohoEmulator;
let hubspot: HubSpotEmulator;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  [webex, backlog, zoho, hubspot] = await Promise.all([
    createWebexEmulator({
      integrations: [
        { ...WEBEX, redirectUris: [callbackFor("webex"), HEADLESS_REDIRECT], scopes: ["spark:people_read"] },
      ],
    }),
    createBacklogEmulator({
      clients: [{ ...BACKLOG, redirectUris: [callbackFor("backlog")] }],
      space: BACKLOG.space,
      apiKeys: [BACKLOG.apiKey],
    }),
    createZohoEmulator({
      clients: [{ ...ZOHO, redirectUris: [callbackFor("zoho-inventory")] }],
      accountsServer: `https://accounts.zoho.${ZOHO.dc}`,
      apiDomain: `https://www.zohoapis.${ZOHO.dc}`,
    }),
    createHubSpotEmulator({
      apps: [{ ...HUBSPOT, redirectUris: [callbackFor("hubspot"), callbackFor("generic-oauth2")] }],
    }),
  ]);
  setProviderHostOverridesForTests({
    "https://webexapis.com": webex.url,
    [`https://${BACKLOG.space}`]: backlog.url,
    [`https://accounts.zoho.${ZOHO.dc}`]: zoho.url,
    [`https://www.zohoapis.${ZOHO.dc}`]: zoho.url,
    "https://app.hubspot.com": hubspot.url,
    "https://api.hubapi.com": hubspot.url,
  });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await Promise.all([webex?.close(), backlog?.close(), zoho?.close(), hubspot?.close()]);
});

describeEachDb("Webex, Backlog, Zoho and HubSpot consent against their emulators", (getDb) => {
  // ---- Webex ----------------------------------------------------------------------------------

  it("Webex: client credentials in the body, access and refresh expiries recorded, test call to /v1/people/me", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Webex");
    const c = await newConnection(db, org.id, {
      provider: "webex",
      oauth_app: { client_id: WEBEX.clientId, client_secret: WEBEX.clientSecret },
    });
    webex.resetRecording();
    const issued = captureNextTokenResponse(webex);
    const requestedAt = Date.now();
    const { outcome, callback, authorizationUrl } = await runFlow(db, org.id, c.id);
    expectSuccess(outcome);
    expect(new URL(authorizationUrl).searchParams.get("scope")).toBe("spark:people_read");
    expect(webex.tokenRequests).toHaveLength(1);
    const tr = webex.tokenRequests[0]!;
    expect(tr.path).toBe("/v1/access_token");
    expect(tr.headers.authorization).toBeUndefined();
    expect(tr.form).toEqual({
      grant_type: "authorization_code",
      code: callback.searchParams.get("code"),
      redirect_uri: callbackFor("webex"),
      client_id: WEBEX.clientId,
      client_secret: WEBEX.clientSecret,
    });

    expect(issued.body).toMatchObject({ expires_in: 1_209_599, refresh_token_expires_in: expect.any(Number) });
    const conn = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
    expect(conn.status).toBe("active");
    // access-token lifetimes are capped at 24 h (SECURITY 24); the refresh token's 90 days are kept as sent
    expect((conn.expiresAt!.getTime() - requestedAt) / 1000).toBeCloseTo(24 * 3600, -2);
    const rtSeconds = (conn.refreshTokenExpiresAt!.getTime() - requestedAt) / 1000;
    expect(Math.abs(rtSeconds - (issued.body!.refresh_token_expires_in as number))).toBeLessThan(30);
    expect(conn.nextRefreshAt).not.toBeNull();
    const stored = await storedTokens(db, org.id, c.id);
    expect(stored!.accessToken).toBe(issued.body!.access_token);
    expect(stored!.refreshToken).toBe(issued.body!.refresh_token);

    const result = await testConnection({ db, organizationId: org.id, connectionId: c.id, actor });
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      summary: { displayName: webex.person.displayName, "emails.0": webex.person.emails[0], orgId: webex.person.orgId },
    });
    expect(JSON.stringify(result)).not.toContain(stored!.accessToken);
    expect(JSON.stringify(result)).not.toContain(stored!.refreshToken!);
    const me = webex.requests.filter((r) => r.path === "/v1/people/me");
    expect(me).toHaveLength(1);
    expect(me[0]!.method).toBe("GET");
    expect(me[0]!.headers.authorization).toBe(`Bearer ${stored!.accessToken}`);
    expect(await db.connection.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({
      accountName: webex.person.displayName,
      accountEmail: webex.person.emails[0],
      accountId: webex.person.id,
    });
  });

  it("Webex headless path: app redirect https://127.0.0.1/ → paste the whole redirected URL → active", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Headless");
    const c = await newConnection(db, org.id, {
      provider: "webex",
      oauth_app: { client_id: WEBEX.clientId, client_secret: WEBEX.clientSecret, redirect_uri: HEADLESS_REDIRECT },
    });
    const flow = await startFlow(db, org.id, c.id);
    expect(new URL(flow.authorizationUrl).searchParams.get("redirect_uri")).toBe(HEADLESS_REDIRECT);
    const landed = await authorizeAt(flow.authorizationUrl);
    expect(`${landed.origin}/`).toBe(HEADLESS_REDIRECT);
    webex.resetRecording();
    const outcome = await completeConsentFromPaste({
      db,
      organizationId: org.id,
      connectionId: c.id,
      pasted: `  ${landed.toString()}\n`,
      browserSecret: flow.browserSecret,
    });
    expectSuccess(outcome);
    expect(webex.tokenRequests).toHaveLength(1);
    expect(webex.tokenRequests[0]!.form).toMatchObject({
      code: landed.searchParams.get("code"),
      redirect_uri: HEADLESS_REDIRECT,
    });
    expect((await db.connection.findUniqueOrThrow({ where: { id: c.id } })).status).toBe("active");
  });

  it("Webex headless path: a bare code is matched to this browser's flow; another browser is refused", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Headless code");
    const c = await newConnection(db, org.id, {
      provider: "webex",
      oauth_app: { client_id: WEBEX.clientId, client_secret: WEBEX.clientSecret, redirect_uri: HEADLESS_REDIRECT },
    });
    const flow = await startFlow(db, org.id, c.id);
    const landed = await authorizeAt(flow.authorizationUrl);
    const code = landed.searchParams.get("code")!;
    webex.resetRecording();

    // another browser: neither the bare code nor the full URL is accepted, and nothing is exchanged
    expectFailure(
      await completeConsentFromPaste({
        db,
        organizationId: org.id,
        connectionId: c.id,
        pasted: code,
        browserSecret: newBrowser(),
      }),
      "state_invalid",
    );
    expectFailure(
      await completeConsentFromPaste({
        db,
        organizationId: org.id,
        connectionId: c.id,
        pasted: code,
        browserSecret: undefined,
      }),
      "wrong_browser",
    );
    expect(webex.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c.id);

    // the browser that started the flow
    expectSuccess(
      await completeConsentFromPaste({
        db,
        organizationId: org.id,
        connectionId: c.id,
        pasted: code,
        browserSecret: flow.browserSecret,
      }),
    );
    expect(webex.tokenRequests).toHaveLength(1);
    expect(webex.tokenRequests[0]!.form.code).toBe(code);
    expect((await db.connection.findUniqueOrThrow({ where: { id: c.id } })).status).toBe("active");

    // a full URL pasted from another browser: refused (and its state is burnt)
    const c2 = await newConnection(db, org.id, {
      provider: "webex",
      oauth_app: { client_id: WEBEX.clientId, client_secret: WEBEX.clientSecret, redirect_uri: HEADLESS_REDIRECT },
    });
    const flow2 = await startFlow(db, org.id, c2.id);
    const landed2 = await authorizeAt(flow2.authorizationUrl);
    webex.resetRecording();
    expectFailure(
      await completeConsentFromPaste({
        db,
        organizationId: org.id,
        connectionId: c2.id,
        pasted: landed2.toString(),
        browserSecret: newBrowser(),
      }),
      "wrong_browser",
    );
    expectFailure(
      await completeConsentFromPaste({
        db,
        organizationId: org.id,
        connectionId: c2.id,
        pasted: landed2.toString(),
        browserSecret: flow2.browserSecret,
      }),
      "state_invalid",
    );
    // pasted for another connection than the flow's
    expectFailure(
      await completeConsentFromPaste({
        db,
        organizationId: org.id,
        connectionId: c.id,
        pasted: landed2.toString(),
        browserSecret: flow2.browserSecret,
      }),
      "state_invalid",
    );
    expect(webex.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c2.id);
    for (const junk of ["", "   ", "not a code with spaces", "x".repeat(9000)]) {
      expectFailure(
        await completeConsentFromPaste({
          db,
          organizationId: org.id,
          connectionId: c2.id,
          pasted: junk,
          browserSecret: flow2.browserSecret,
        }),
        "paste_invalid",
      );
    }
  });

  // ---- Backlog --------------------------------------------------------------------------------

  it("Backlog OAuth on the customer's space host: token request in the body, test call with the Bearer token", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Backlog");
    const c = await newConnection(db, org.id, {
      provider: "backlog",
      settings: { space: "ACME.backlog.com" },
      oauth_app: { client_id: BACKLOG.clientId, client_secret: BACKLOG.clientSecret },
    });
    expect(JSON.parse(c.settings)).toEqual({ space: BACKLOG.space });
    backlog.resetRecording();
    const { outcome, authorizationUrl, callback } = await runFlow(db, org.id, c.id);
    expectSuccess(outcome);
    const auth = new URL(authorizationUrl);
    expect(auth.pathname).toBe("/OAuth2AccessRequest.action");
    expect(auth.searchParams.get("redirect_uri")).toBe(callbackFor("backlog"));
    expect(backlog.tokenRequests.map((r) => [r.path, r.form])).toEqual([
      [
        "/api/v2/oauth2/token",
        {
          grant_type: "authorization_code",
          code: callback.searchParams.get("code"),
          redirect_uri: callbackFor("backlog"),
          client_id: BACKLOG.clientId,
          client_secret: BACKLOG.clientSecret,
        },
      ],
    ]);
    const conn = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
    expect(conn.status).toBe("active");
    expect((conn.expiresAt!.getTime() - Date.now()) / 1000).toBeCloseTo(3600, -2);
    const stored = await storedTokens(db, org.id, c.id);
    expect(stored!.refreshToken).toEqual(expect.any(String));

    const result = await testConnection({ db, organizationId: org.id, connectionId: c.id, actor });
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      summary: { name: backlog.user.name, userId: backlog.user.userId, mailAddress: backlog.user.mailAddress },
    });
    const call = backlog.requests.find((r) => r.path === "/api/v2/users/myself")!;
    expect(call.headers.authorization).toBe(`Bearer ${stored!.accessToken}`);
    expect(call.query.apiKey).toBeUndefined();
  });

  it("Backlog API key connection: active at once, key stored encrypted, test call with ?apiKey=", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Backlog key");
    const c = await newConnection(db, org.id, {
      provider: "backlog-api-key",
      settings: { space: BACKLOG.space },
      api_key: BACKLOG.apiKey,
    });
    expect(c.status).toBe("active");
    expect(c.connectedAt).not.toBeNull();
    const stored = await storedTokens(db, org.id, c.id);
    expect(stored!.accessToken).toBe(BACKLOG.apiKey);
    expect(stored!.row.tokenType).toBe("ApiKey");
    expect(stored!.row.accessTokenEnc).not.toContain(BACKLOG.apiKey);
    expect(stored!.refreshToken).toBeNull();
    backlog.resetRecording();
    const result = await testConnection({ db, organizationId: org.id, connectionId: c.id, actor });
    expect(result).toMatchObject({ ok: true, status: 200, summary: { userId: backlog.user.userId } });
    expect(JSON.stringify(result)).not.toContain(BACKLOG.apiKey);
    expect(backlog.requests).toHaveLength(1);
    expect(backlog.requests[0]!.path).toBe("/api/v2/users/myself");
    expect(backlog.requests[0]!.query.apiKey).toBe(BACKLOG.apiKey);
    expect(backlog.requests[0]!.headers.authorization).toBeUndefined();
    // a key the space does not know: the test reports the failure, nothing else changes
    backlog.revokeApiKey(BACKLOG.apiKey);
    expect(await testConnection({ db, organizationId: org.id, connectionId: c.id, actor })).toMatchObject({
      ok: false,
      status: 401,
    });
    backlog.addApiKey(BACKLOG.apiKey);
  });

  it("Backlog space hosts outside the allowed pattern are refused at save (SECURITY 31)", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    for (const space of [
      "evil.example",
      "acme.backlog.com.evil.example",
      "127.0.0.1",
      "acme.backlog.com/x",
      "user@acme.backlog.com",
      "169.254.169.254",
    ]) {
      for (const provider of ["backlog", "backlog-api-key"]) {
        await expect(
          newConnection(db, org.id, {
            provider,
            settings: { space },
            ...(provider === "backlog" ? { oauth_app: { client_id: "x", client_secret: "y" } } : { api_key: "k" }),
          }),
        ).rejects.toMatchObject({
          code: "validation",
          errors: [expect.objectContaining({ path: "settings.space" })],
        });
      }
    }
    expect(await db.connection.count({ where: { organizationId: org.id } })).toBe(0);
    expect(await db.oAuthApp.count({ where: { organizationId: org.id } })).toBe(0);
  });

  // ---- Zoho -----------------------------------------------------------------------------------

  async function zohoConnection() {
    const { db } = getDb();
    const org = await newOrg(db, "Zoho");
    const c = await newConnection(db, org.id, {
      provider: "zoho-inventory",
      settings: { data_centre: ZOHO.dc, organization_id: ZOHO.org },
      oauth_app: { client_id: ZOHO.clientId, client_secret: ZOHO.clientSecret },
    });
    zoho.resetRecording();
    zoho.clearFaults();
    zoho.configure({
      accountsServer: `https://accounts.zoho.${ZOHO.dc}`,
      apiDomain: `https://www.zohoapis.${ZOHO.dc}`,
    });
    return { db, org, c };
  }

  it("Zoho: offline access, accounts-server honoured within the allow list, api_domain kept, test call with Zoho-oauthtoken and organization_id", async () => {
    const { db, org, c } = await zohoConnection();
    const { outcome, authorizationUrl, callback } = await runFlow(db, org.id, c.id);
    expectSuccess(outcome);
    const q = new URL(authorizationUrl).searchParams;
    expect(Object.fromEntries(q)).toMatchObject({
      response_type: "code",
      access_type: "offline",
      prompt: "consent",
      client_id: ZOHO.clientId,
      scope: "ZohoInventory.FullAccess.all",
      redirect_uri: callbackFor("zoho-inventory"),
    });
    expect(callback.searchParams.get("accounts-server")).toBe(`https://accounts.zoho.${ZOHO.dc}`);
    expect(zoho.tokenRequests).toHaveLength(1);
    expect(zoho.tokenRequests[0]!.form).toMatchObject({
      grant_type: "authorization_code",
      client_id: ZOHO.clientId,
      client_secret: ZOHO.clientSecret,
      redirect_uri: callbackFor("zoho-inventory"),
    });

    const conn = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
    expect(conn.status).toBe("active");
    expect(JSON.parse(conn.metadata)).toEqual({
      api_domain: `https://www.zohoapis.${ZOHO.dc}`,
      "host.accounts": `https://accounts.zoho.${ZOHO.dc}`,
    });
    const stored = await storedTokens(db, org.id, c.id);
    expect(stored!.refreshToken).toMatch(/^1000\./);

    const result = await testConnection({ db, organizationId: org.id, connectionId: c.id, actor });
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      summary: {
        message: "success",
        "organizations.0.name": zoho.organizations[0]!.name,
        "organizations.0.organization_id": ZOHO.org,
      },
    });
    const call = zoho.requests.find((r) => r.path === "/inventory/v1/organizations")!;
    expect(call.headers.authorization).toBe(`Zoho-oauthtoken ${stored!.accessToken}`);
    expect(call.query.organization_id).toBe(ZOHO.org);
  });

  it("Zoho's 10 refreshes per refresh token in 10 minutes (catalogue data): the 11th is not sent, the stored token is served while it works, then 502 with Retry-After; another connection has its own budget", async () => {
    const { db, org, c } = await zohoConnection();
    expectSuccess((await runFlow(db, org.id, c.id)).outcome);
    zoho.resetRecording();
    const ask = (connectionId: string) =>
      getFreshToken({ db, organizationId: org.id, connectionId, minValidity: 7200 }); // more than Zoho's hour
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await ask(c.id));
    expect(zoho.counters.refreshed).toBe(10);
    // nothing was refused at Zoho: the 11th and 12th were never sent
    expect(zoho.tokenRequests).toHaveLength(10);
    const stored = await storedTokens(db, org.id, c.id);
    for (const a of answers.slice(10))
      expect(a).toMatchObject({
        accessToken: stored!.accessToken,
        minValidityMet: false,
        reason: "provider_unavailable",
      });
    expect(answers[9]!.accessToken).toBe(stored!.accessToken);
    // the status is untouched: a limit of our own is not a failure of the connection
    expect(await db.connection.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({
      status: "active",
      lastErrorCode: null,
    });
    // once the stored token has expired there is nothing to serve: 502 refresh-failed, come back when the window allows
    await db.connection.update({ where: { id: c.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const refused = await ask(c.id).then(
      () => null,
      (e: AppError) => e,
    );
    expect(refused).toMatchObject({ code: "refresh-failed" });
    expect(refused!.retryAfter).toBeGreaterThan(500);
    expect(zoho.tokenRequests).toHaveLength(10);

    // a second connection of the same organization and app refreshes on its own budget
    const other = await newConnection(db, org.id, {
      provider: "zoho-inventory",
      settings: { data_centre: ZOHO.dc, organization_id: ZOHO.org },
      oauth_app: { client_id: ZOHO.clientId, client_secret: ZOHO.clientSecret },
    });
    expectSuccess((await runFlow(db, org.id, other.id)).outcome);
    zoho.resetRecording();
    expect((await ask(other.id)).accessToken).toBe((await storedTokens(db, org.id, other.id))!.accessToken);
    expect(zoho.counters.refreshed).toBe(1);
  });

  it("Zoho callback with accounts-server=https://accounts.zoho.com.evil.example → host_not_allowed, the emulator sees no token request", async () => {
    const { db, org, c } = await zohoConnection();
    zoho.configure({ accountsServer: "https://accounts.zoho.com.evil.example" });
    const { outcome, callback } = await runFlow(db, org.id, c.id);
    expect(callback.searchParams.get("accounts-server")).toBe("https://accounts.zoho.com.evil.example");
    expectFailure(outcome, "host_not_allowed");
    expect(zoho.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c.id);
    // other spellings of a foreign host fare no better
    for (const host of [
      "http://accounts.zoho.com",
      "https://accounts.zoho.com:8443",
      "https://accounts.zoho.com/",
      "https://evil.example/accounts.zoho.com",
      "https://accounts.zoho.com@evil.example",
    ]) {
      const flow = await startFlow(db, org.id, c.id);
      const landed = await authorizeAt(flow.authorizationUrl);
      landed.searchParams.set("accounts-server", host);
      expectFailure(await deliverCallback(db, landed, flow.browserSecret), "host_not_allowed");
    }
    expect(zoho.tokenRequests).toHaveLength(0);
  });

  it("Zoho errors come as HTTP 200 bodies: nothing stored; an api_domain outside the allow list is refused", async () => {
    const { db, org, c } = await zohoConnection();
    // a code Zoho does not know: {"error":"invalid_code"} with HTTP 200 (mapped to invalid_grant by the catalogue)
    const flow = await startFlow(db, org.id, c.id);
    const landed = await authorizeAt(flow.authorizationUrl);
    landed.searchParams.set("code", "1000.0000.0000");
    const outcome = await deliverCallback(db, landed, flow.browserSecret);
    expectFailure(outcome, "exchange_failed");
    if (!outcome.ok) expect(outcome.providerError).toBe("invalid_grant");
    expect(zoho.counters.tokenErrors).toBe(1);
    await expectNothingStored(db, c.id);
    // a token response pointing API calls somewhere else
    zoho.failNext(faults.mutate((b) => ({ ...b, api_domain: "https://www.zohoapis.com.evil.example" })));
    expectFailure((await runFlow(db, org.id, c.id)).outcome, "invalid_response");
    await expectNothingStored(db, c.id);
  });

  // ---- HubSpot (seed 001's example) -------------------------------------------------------------

  it("HubSpot: lower-case bearer token type accepted, test call to /account-info/v3/details", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "HubSpot");
    const c = await newConnection(db, org.id, {
      provider: "hubspot",
      oauth_app: { client_id: HUBSPOT.clientId, client_secret: HUBSPOT.clientSecret },
    });
    hubspot.resetRecording();
    const issued = captureNextTokenResponse(hubspot);
    const { outcome, authorizationUrl } = await runFlow(db, org.id, c.id);
    expectSuccess(outcome);
    expect(new URL(authorizationUrl).pathname).toBe("/oauth/authorize");
    expect(hubspot.tokenRequests.map((r) => r.path)).toEqual(["/oauth/v1/token"]);
    expect(issued.body!.token_type).toBe("bearer");
    const stored = await storedTokens(db, org.id, c.id);
    expect(stored!.accessToken).toBe(issued.body!.access_token);
    expect(stored!.refreshToken).toBe(issued.body!.refresh_token);
    const result = await testConnection({ db, organizationId: org.id, connectionId: c.id, actor });
    expect(result).toMatchObject({ ok: true, status: 200, summary: { portalId: String(hubspot.portal.portalId) } });
    expect((await db.connection.findUniqueOrThrow({ where: { id: c.id } })).accountId).toBe(
      String(hubspot.portal.portalId),
    );
  });

  it("seed 001's example: a generic connection typed with HubSpot's endpoints — trocco's exact request shapes", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Generic HubSpot");
    const c = await newConnection(db, org.id, {
      provider: "generic-oauth2",
      // what the customer types (the emulator stands at the address; the hubspot catalogue entry is not involved)
      settings: {
        authorization_url: `${hubspot.url}/oauth/authorize`,
        token_url: `${hubspot.url}/oauth/v1/token`,
        test_url: `${hubspot.url}/account-info/v3/details`,
        use_pkce: false,
        authorization_params: { optional_scope: "automation" },
      },
      scopes: ["crm.objects.contacts.read", "oauth"],
      oauth_app: { client_id: HUBSPOT.clientId, client_secret: HUBSPOT.clientSecret },
    });
    hubspot.resetRecording();
    const flow = await startFlow(db, org.id, c.id);
    // {AUTHORIZATION_ENDPOINT}?response_type=code&client_id=…&redirect_uri=…&scope=S1 S2&{extra}={value}
    const auth = new URL(flow.authorizationUrl);
    expect(Object.fromEntries(auth.searchParams)).toEqual({
      response_type: "code",
      client_id: HUBSPOT.clientId,
      redirect_uri: callbackFor("generic-oauth2"),
      scope: "crm.objects.contacts.read oauth",
      optional_scope: "automation",
      state: expect.any(String),
    });
    const callback = await authorizeAt(flow.authorizationUrl);
    expectSuccess(await deliverCallback(db, callback, flow.browserSecret));
    // { grant_type, client_id, client_secret, code, redirect_uri } and nothing else
    expect(hubspot.tokenRequests.map((r) => r.form)).toEqual([
      {
        grant_type: "authorization_code",
        client_id: HUBSPOT.clientId,
        client_secret: HUBSPOT.clientSecret,
        code: callback.searchParams.get("code"),
        redirect_uri: callbackFor("generic-oauth2"),
      },
    ]);
    expect((await db.connection.findUniqueOrThrow({ where: { id: c.id } })).status).toBe("active");
    const result = await testConnection({ db, organizationId: org.id, connectionId: c.id, actor });
    expect(result).toMatchObject({ ok: true, status: 200 });
    const stored = await storedTokens(db, org.id, c.id);
    expect(hubspot.requests.find((r) => r.path === "/account-info/v3/details")!.headers.authorization).toBe(
      `Bearer ${stored!.accessToken}`,
    );
  });

  // ---- SSRF with the test allowance on ----------------------------------------------------------

  it("customer URLs at metadata, private or link-local addresses are refused even with the loopback allowance", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    const bad = [
      "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
      "https://169.254.169.254/token",
      "http://2852039166/token", // 169.254.169.254 as one decimal number
      "http://0xa9.0xfe.0xa9.0xfe/token",
      "http://[::ffff:169.254.169.254]/token",
      "http://[fd00:ec2::254]/token",
      "https://10.0.0.7/token",
      "https://192.168.1.1/token",
      "https://100.64.0.1/token",
      "https://metadata.google.internal/computeMetadata/v1/",
      "https://user:pass@127.0.0.1/token",
      "ftp://127.0.0.1/token",
    ];
    for (const token_url of bad) {
      await expect(
        newConnection(db, org.id, {
          provider: "generic-oauth2",
          settings: { authorization_url: "https://127.0.0.1/auth", token_url },
          oauth_app: { client_id: "x", client_secret: "y" },
        }),
        token_url,
      ).rejects.toMatchObject({
        code: "validation",
        errors: [expect.objectContaining({ path: "settings.token_url" })],
      });
    }
    for (const authorization_url of ["http://169.254.169.254/auth", "https://[::1]@10.1.1.1/auth"]) {
      await expect(
        newConnection(db, org.id, {
          provider: "generic-oauth2",
          settings: { authorization_url, token_url: "https://127.0.0.1/token" },
          oauth_app: { client_id: "x", client_secret: "y" },
        }),
      ).rejects.toMatchObject({ code: "validation" });
    }
    expect(await db.connection.count({ where: { organizationId: org.id } })).toBe(0);
    // control: loopback itself is allowed in tests
    await expect(
      newConnection(db, org.id, {
        provider: "generic-oauth2",
        settings: { authorization_url: "http://127.0.0.1:9/auth", token_url: "http://127.0.0.1:9/token" },
        oauth_app: { client_id: "x", client_secret: "y" },
      }),
    ).resolves.toMatchObject({ status: "pending_consent" });
  });
});
