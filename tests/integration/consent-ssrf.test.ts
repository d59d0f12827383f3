// The production egress policy (no test allowance): customer URLs on loopback are refused when saved
// AND when used, and host overrides cannot smuggle a request to a local address either
// (SECURITY 28, 39). A local server stands by to prove that no request ever reaches it.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import {
  actor,
  callbackFor,
  deliverCallback,
  expectFailure,
  expectLoopbackAllowance,
  expectNothingStored,
  newConnection,
  newOrg,
  startFlow,
} from "../helpers/consent";
import { describeEachDb } from "../helpers/db";
import { json, startEmulatorServer, type EmulatorServer } from "../fixtures/http-emulator";
import { testConnection } from "@/lib/connections/test-connection";
import { saveTokenSet } from "@/lib/tokens/save-token-set";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { getAppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { requestAppOnlyToken } from "@/lib/oauth/app-only-token";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "false";
});

// a public address written as a literal, so saving needs no DNS (nothing is ever sent to it here)
const PUBLIC = "https://93.184.215.14";
let local: EmulatorServer;

beforeAll(async () => {
  expectLoopbackAllowance(false);
  local = await startEmulatorServer({
    isTokenEndpoint: (r) => r.path.endsWith("/token"),
    handle: () => json(200, { access_token: "should-never-be-issued", token_type: "Bearer", expires_in: 3600 }),
  });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await local?.close();
});

describeEachDb("egress policy without the test allowance", (getDb) => {
  it("generic URLs on loopback, in any spelling, are refused at save", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    const port = new URL(local.url).port;
    const loopbacks = [
      `${local.url}/token`, // http://127.0.0.1:<port>
      `https://127.0.0.1:${port}/token`,
      "https://127.0.0.1/token",
      "https://localhost/token",
      "https://app.localhost/token",
      "https://[::1]/token",
      "https://2130706433/token",
      "https://0177.0.0.1/token",
      "https://0x7f.1/token",
      "https://127.1/token",
      "https://[::ffff:127.0.0.1]/token",
      "https://0.0.0.0/token",
    ];
    for (const token_url of loopbacks) {
      await expect(
        newConnection(db, org.id, {
          provider: "generic-oauth2",
          settings: { authorization_url: `${PUBLIC}/auth`, token_url },
          oauth_app: { client_id: "x", client_secret: "y" },
        }),
        token_url,
      ).rejects.toMatchObject({
        code: "validation",
        errors: [expect.objectContaining({ path: "settings.token_url" })],
      });
    }
    expect(await db.connection.count({ where: { organizationId: org.id } })).toBe(0);
    expect(local.requests).toHaveLength(0);
  });

  it("a stored URL that points at loopback is refused at request time: no token request leaves, nothing stored", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    const c = await newConnection(db, org.id, {
      provider: "generic-oauth2",
      settings: { authorization_url: `${PUBLIC}/auth`, token_url: `${PUBLIC}/token` },
      oauth_app: { client_id: "client-x", client_secret: "secret-x" },
    });
    // the row changes behind the validator's back (an old row, a direct write, a DNS answer that changed)
    for (const token_url of [`https://127.0.0.1:${new URL(local.url).port}/token`, `${local.url}/token`]) {
      await db.connection.update({
        where: { id: c.id },
        data: { settings: JSON.stringify({ ...JSON.parse(c.settings), token_url }) },
      });
      const flow = await startFlow(db, org.id, c.id);
      const state = new URL(flow.authorizationUrl).searchParams.get("state")!;
      const outcome = await deliverCallback(
        db,
        `${callbackFor("generic-oauth2")}?code=abc&state=${state}`,
        flow.browserSecret,
      );
      expectFailure(outcome, "invalid_response");
      // a generic message, never the local service's answer (SECURITY 30)
      expect(JSON.stringify(outcome)).not.toContain("should-never-be-issued");
    }
    expect(local.requests).toHaveLength(0);
    await expectNothingStored(db, c.id);
  });

  it("a test call whose URL points at loopback is refused at request time", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    const c = await newConnection(db, org.id, {
      provider: "generic-oauth2",
      settings: { authorization_url: `${PUBLIC}/auth`, token_url: `${PUBLIC}/token`, test_url: `${PUBLIC}/me` },
      oauth_app: { client_id: "client-x", client_secret: "secret-x" },
    });
    await db.$transaction(async (tx) => {
      await saveTokenSet({
        tx,
        organizationId: org.id,
        connectionId: c.id,
        data: {
          accessToken: "at-canary",
          refreshToken: null,
          idToken: null,
          tokenType: "Bearer",
          expiresAt: new Date(Date.now() + 3600_000),
          refreshTokenExpiresAt: null,
          scopes: null,
          metadata: {},
        },
      });
      await tx.connection.update({
        where: { id: c.id },
        data: { status: "active", expiresAt: new Date(Date.now() + 3600_000) },
      });
    });
    const port = new URL(local.url).port;
    for (const [test_url, message] of [
      [`https://127.0.0.1:${port}/me`, /does not call/],
      [`https://localhost:${port}/me`, /does not call/],
      [`${local.url}/me`, /invalid_url/], // plain http is refused before any address is looked at
    ] as const) {
      await db.connection.update({
        where: { id: c.id },
        data: { settings: JSON.stringify({ ...JSON.parse(c.settings), test_url }) },
      });
      const result = await testConnection({ db, organizationId: org.id, connectionId: c.id, actor });
      expect(result, test_url).toMatchObject({ ok: false, status: null });
      expect(result.message).toMatch(message);
    }
    expect(local.requests).toHaveLength(0);
  });

  it("a provider host override onto loopback does not bypass the policy (app-only token request refused)", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    setProviderHostOverridesForTests({ "https://login.windows.net": local.url });
    try {
      const saved = await saveOAuthApp({
        db,
        organizationId: org.id,
        input: {
          providerId: "microsoft-365-management",
          name: "Secret app",
          clientId: "11111111-2222-3333-4444-555555555555",
          clientSecret: "app-secret",
        },
        actor,
      });
      const app = await getAppCredentials({ db, appId: saved.id, organizationId: org.id });
      await expect(
        requestAppOnlyToken({
          provider: PROVIDERS.get("microsoft-365-management")!,
          app,
          tenantId: "41463f53-8812-40f4-890f-865bf6e35190",
        }),
      ).rejects.toMatchObject({ name: "TokenEndpointError" });
    } finally {
      setProviderHostOverridesForTests(undefined);
    }
    expect(local.requests).toHaveLength(0);
  });
});
