// Disconnect revokes at the provider as its catalogue `revocation` block says (issue 18, part 3):
// HubSpot (DELETE with the refresh token in the path), Zoho (POST token= at the accounts-server the
// callback named) and the generic provider at oidc-provider's RFC 7009 endpoint (client_secret_basic
// and client_secret_post). Each time: the request the provider saw, the refresh token dead there, the
// tokens gone here, the connection revoked, the outcome in the audit row and the webhook. A provider
// that fails, hangs or cannot be reached gives "failed" with Consentry's own reason (nothing of its
// body, no secret, in the reason, the audit rows or the logs) and the tokens are deleted all the same;
// a provider without revocation gives "unsupported".
import crypto from "node:crypto";
import net from "node:net";
import type pino from "pino";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { disconnectConnection } from "@/lib/connections/disconnect-connection";
import type { Db } from "@/lib/db/client";
import { createLogger } from "@/lib/logger";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { createBacklogEmulator, type BacklogEmulator } from "../fixtures/backlog-emulator";
import { httpRequest, parseBasicAuth, type RecordedRequest } from "../fixtures/http-emulator";
import { createHubSpotEmulator, type HubSpotEmulator } from "../fixtures/hubspot-emulator";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { createZohoEmulator, type ZohoEmulator } from "../fixtures/zoho-emulator";
import {
  actor,
  auditActions,
  callbackFor,
  expectLoopbackAllowance,
  expectSuccess,
  newConnection,
  newOrg,
  runFlow,
  storedTokens,
} from "../helpers/consent";
import { describeEachDb } from "../helpers/db";

const canary = (label: string) => `${crypto.randomBytes(8).toString("hex")}-${label}`;
const HUBSPOT = { clientId: "hubspot-client-revoke", clientSecret: canary("hubspot-secret") };
const ZOHO = { clientId: "1000.ZOHOREVOKE0001", clientSecret: canary("zoho-secret") };
const BACKLOG = {
  clientId: "backlog-client-revoke",
  clientSecret: canary("backlog-secret"),
  space: "acme.backlog.com",
};
/** what a provider puts in its error body: it must never reach a reason, an audit row or a log line */
const BODY_CANARY = canary("provider-body");

let hubspot: HubSpotEmulator;
let zoho: ZohoEmulator;
let backlog: BacklogEmulator;
let op: OidcServer;
let deadUrl: string;
const OVERRIDES = () => ({
  "https://app.hubspot.com": hubspot.url,
  "https://api.hubapi.com": hubspot.url,
  "https://accounts.zoho.com": zoho.url,
  "https://accounts.zoho.eu": zoho.url,
  "https://www.zohoapis.eu": zoho.url,
  [`https://${BACKLOG.space}`]: backlog.url,
});

// The process logger, swapped for one writing into memory at every level (as provider-echo-canary does).
const logLines: string[] = [];
const g = globalThis as unknown as { __consentryLogger?: pino.Logger };
let previousLogger: pino.Logger | undefined;

/** An address nothing listens on: a port just released. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  expectLoopbackAllowance(true);
  previousLogger = g.__consentryLogger;
  g.__consentryLogger = createLogger({ write: (line: string) => void logLines.push(line) });
  g.__consentryLogger.level = "trace";
  [hubspot, zoho, backlog, op] = await Promise.all([
    createHubSpotEmulator({ apps: [{ ...HUBSPOT, redirectUris: [callbackFor("hubspot")] }] }),
    createZohoEmulator({
      clients: [{ ...ZOHO, redirectUris: [callbackFor("zoho-inventory")] }],
      accountsServer: "https://accounts.zoho.eu",
      apiDomain: "https://www.zohoapis.eu",
    }),
    createBacklogEmulator({ clients: [{ ...BACKLOG, redirectUris: [callbackFor("backlog")] }], space: BACKLOG.space }),
    createOidcServer({
      redirectUris: [callbackFor("generic-oauth2")],
      ttl: { AccessToken: 3600, RefreshToken: 7200 },
    }),
  ]);
  deadUrl = `http://127.0.0.1:${await closedPort()}`;
  setProviderHostOverridesForTests(OVERRIDES());
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  g.__consentryLogger = previousLogger;
  await Promise.all([hubspot?.close(), zoho?.close(), backlog?.close(), op?.close()]);
});

describeEachDb("revocation at the provider on disconnect", (getDb) => {
  /** An organization with a webhook endpoint for connection.revoked (queued only: no delivery loop runs here). */
  async function orgWithWebhook(db: Db, name: string) {
    const org = await newOrg(db, name);
    await createWebhookEndpoint({
      db,
      organizationId: org.id,
      actor,
      input: { url: `${deadUrl}/hooks`, events: ["connection.revoked"] },
    });
    return org;
  }

  async function consented(db: Db, organizationId: string, input: Record<string, unknown>, origin: string) {
    const c = await newConnection(db, organizationId, input);
    expectSuccess((await runFlow(db, organizationId, c.id, { origins: [origin] })).outcome);
    const tokens = await storedTokens(db, organizationId, c.id);
    expect(tokens?.refreshToken).toBeTruthy();
    return { id: c.id, accessToken: tokens!.accessToken, refreshToken: tokens!.refreshToken! };
  }

  async function disconnect(db: Db, organizationId: string, connectionId: string) {
    return disconnectConnection({ db, organizationId, connectionId, actor });
  }

  /** Tokens gone, connection revoked, and the outcome in the audit row and the queued webhook. */
  async function expectDisconnected(
    db: Db,
    organizationId: string,
    connectionId: string,
    revocation: { outcome: string; reason?: string },
  ) {
    expect(await db.tokenSet.count({ where: { connectionId } })).toBe(0);
    expect((await db.connection.findUniqueOrThrow({ where: { id: connectionId } })).status).toBe("revoked");
    const audit = (await auditActions(db, { organizationId, action: "connection.revoked" })).filter(
      (a) => a.targetId === connectionId,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toEqual({
      revocation: revocation.outcome,
      ...(revocation.reason ? { revocationReason: revocation.reason } : {}),
    });
    const payloads = (await db.webhookDelivery.findMany({ where: { organizationId } }))
      .map(
        (d) =>
          JSON.parse(d.payload) as { type: string; data: Record<string, unknown> & { connection: { id: string } } },
      )
      .filter((p) => p.type === "connection.revoked" && p.data.connection.id === connectionId);
    expect(payloads).toHaveLength(1);
    expect(payloads[0]!.data).toMatchObject({
      connection: { id: connectionId, status: "revoked" },
      revocation,
      revoked_at_provider: revocation.outcome === "revoked" ? true : revocation.outcome === "failed" ? false : null,
    });
  }

  /** Nothing of the provider's body and no secret in the reason, the organization's audit rows, or the logs. */
  async function expectNothingLeaked(db: Db, organizationId: string, reason: string | undefined, secrets: string[]) {
    const audit = JSON.stringify(await db.auditEvent.findMany({ where: { organizationId } }));
    const webhooks = JSON.stringify(await db.webhookDelivery.findMany({ where: { organizationId } }));
    const logs = logLines.join("");
    for (const s of [BODY_CANARY, ...secrets]) {
      expect(reason ?? "").not.toContain(s);
      expect(audit).not.toContain(s);
      expect(webhooks).not.toContain(s);
      expect(logs).not.toContain(s);
    }
  }

  /** A refresh grant at the provider's token endpoint, as Consentry would send it. */
  const refreshAt = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    httpRequest(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ grant_type: "refresh_token", ...form }).toString(),
    });

  // ---- HubSpot ----------------------------------------------------------------------------------

  const hubspotConnection = (db: Db, organizationId: string) =>
    consented(
      db,
      organizationId,
      { provider: "hubspot", oauth_app: { client_id: HUBSPOT.clientId, client_secret: HUBSPOT.clientSecret } },
      hubspot.url,
    );

  it("HubSpot: DELETE /oauth/v1/refresh-tokens/{refresh token} without client authentication → revoked; the refresh token no longer refreshes", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "HubSpot");
    const c = await hubspotConnection(db, org.id);
    hubspot.resetRecording();
    const result = await disconnect(db, org.id, c.id);
    expect(result).toEqual({ revocation: { outcome: "revoked" }, revokedAtProvider: true });

    expect(hubspot.revocations).toHaveLength(1);
    const call = hubspot.revocations[0]!;
    expect(call.method).toBe("DELETE");
    expect(call.url).toBe(`/oauth/v1/refresh-tokens/${encodeURIComponent(c.refreshToken)}`);
    expect(call.headers.authorization).toBeUndefined();
    expect(call.rawBody).toBe("");
    expect(JSON.stringify(call)).not.toContain(HUBSPOT.clientSecret);
    expect(hubspot.requests.filter((r) => r.path !== call.path)).toEqual([]);

    expect(hubspot.refreshTokenLive(c.refreshToken)).toBe(false);
    const refresh = await refreshAt(`${hubspot.url}/oauth/v1/token`, {
      client_id: HUBSPOT.clientId,
      client_secret: HUBSPOT.clientSecret,
      refresh_token: c.refreshToken,
    });
    expect(refresh.status).toBe(400);
    expect(JSON.parse(refresh.body)).toMatchObject({ status: "BAD_REFRESH_TOKEN" });
    // HubSpot's docs: access tokens issued with it live on until they expire (30 minutes at most)
    const api = await httpRequest(`${hubspot.url}/account-info/v3/details`, {
      headers: { authorization: `Bearer ${c.accessToken}` },
    });
    expect(api.status).toBe(200);
    await expectDisconnected(db, org.id, c.id, { outcome: "revoked" });
  });

  it("HubSpot answering 500 with a body full of canaries → failed with Consentry's reason; tokens deleted all the same", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "HubSpot 500");
    const c = await hubspotConnection(db, org.id);
    hubspot.failNext({
      path: `/oauth/v1/refresh-tokens/${c.refreshToken}`,
      status: 500,
      body: { status: "error", message: `internal error ${BODY_CANARY}`, error: BODY_CANARY, token: c.refreshToken },
    });
    const { revocation, revokedAtProvider } = await disconnect(db, org.id, c.id);
    expect(revocation).toEqual({ outcome: "failed", reason: "the provider answered HTTP 500 (error)" });
    expect(revokedAtProvider).toBe(false);
    expect(hubspot.counters.faultsInjected).toBeGreaterThan(0);
    // the fault stood in for the provider: the refresh token was never deleted there
    expect(hubspot.refreshTokenLive(c.refreshToken)).toBe(true);
    await expectDisconnected(db, org.id, c.id, revocation);
    await expectNothingLeaked(db, org.id, revocation.reason, [c.refreshToken, c.accessToken, HUBSPOT.clientSecret]);
    expect(logLines.join("")).toContain("revocation at the provider failed");
  });

  // ---- Zoho -------------------------------------------------------------------------------------

  async function zohoConnection(db: Db, organizationId: string, dataCentre = "eu") {
    zoho.configure({ accountsServer: "https://accounts.zoho.eu", apiDomain: "https://www.zohoapis.eu" });
    return consented(
      db,
      organizationId,
      {
        provider: "zoho-inventory",
        settings: { data_centre: dataCentre, organization_id: "10234695" },
        oauth_app: { client_id: ZOHO.clientId, client_secret: ZOHO.clientSecret },
      },
      zoho.url,
    );
  }

  it("Zoho: POST token=<refresh token> at the accounts-server the callback named (not the data centre's), no client authentication → revoked", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "Zoho");
    // data centre .com, but the callback's accounts-server is .eu (kept as metadata host.accounts)
    const c = await zohoConnection(db, org.id, "com");
    expect(JSON.parse((await db.connection.findUniqueOrThrow({ where: { id: c.id } })).metadata)).toMatchObject({
      "host.accounts": "https://accounts.zoho.eu",
    });
    zoho.resetRecording();
    // only the .eu accounts server answers now
    setProviderHostOverridesForTests({ ...OVERRIDES(), "https://accounts.zoho.com": deadUrl });
    try {
      const result = await disconnect(db, org.id, c.id);
      expect(result).toEqual({ revocation: { outcome: "revoked" }, revokedAtProvider: true });
    } finally {
      setProviderHostOverridesForTests(OVERRIDES());
    }

    expect(zoho.revocations).toHaveLength(1);
    const call = zoho.revocations[0]!;
    expect(call.method).toBe("POST");
    expect(call.url).toBe("/oauth/v2/token/revoke");
    expect(call.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(call.headers.authorization).toBeUndefined();
    expect(call.form).toEqual({ token: c.refreshToken });
    expect(zoho.requests).toHaveLength(1);

    expect(zoho.refreshTokens.map((r) => r.token)).not.toContain(c.refreshToken);
    const refresh = await refreshAt(`${zoho.url}/oauth/v2/token`, {
      client_id: ZOHO.clientId,
      client_secret: ZOHO.clientSecret,
      refresh_token: c.refreshToken,
    });
    expect(JSON.parse(refresh.body)).toEqual({ error: "invalid_code" });
    await expectDisconnected(db, org.id, c.id, { outcome: "revoked" });
  });

  it("Zoho's HTTP 200 whose body is an error is not a revocation; its code is kept through the catalogue's alias", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "Zoho 200 error");
    const c = await zohoConnection(db, org.id);
    zoho.failNext({
      path: "/oauth/v2/token/revoke",
      status: 200,
      body: { error: "invalid_code", error_description: BODY_CANARY },
    });
    const { revocation } = await disconnect(db, org.id, c.id);
    expect(revocation).toEqual({ outcome: "failed", reason: "the provider answered HTTP 200 (invalid_grant)" });
    await expectDisconnected(db, org.id, c.id, revocation);
    await expectNothingLeaked(db, org.id, revocation.reason, [c.refreshToken, c.accessToken, ZOHO.clientSecret]);
  });

  it("Zoho not answering → failed after 10 s: 'the provider could not be reached: timeout'; tokens deleted", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "Zoho hang");
    const c = await zohoConnection(db, org.id);
    zoho.failNext({ path: "/oauth/v2/token/revoke", hang: true });
    const started = Date.now();
    const { revocation } = await disconnect(db, org.id, c.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(revocation).toEqual({ outcome: "failed", reason: "the provider could not be reached: timeout" });
    await expectDisconnected(db, org.id, c.id, revocation);
    await expectNothingLeaked(db, org.id, revocation.reason, [c.refreshToken, c.accessToken, ZOHO.clientSecret]);
  }, 40_000);

  // ---- generic OAuth 2.0 at oidc-provider (RFC 7009) ----------------------------------------------

  async function genericConnection(
    db: Db,
    organizationId: string,
    auth: "client_secret_basic" | "client_secret_post",
    /** null: no revocation_url setting */
    revocationUrl: string | null = op.endpoints.revocation,
  ) {
    const client = auth === "client_secret_basic" ? op.clients.basic : op.clients.post;
    return {
      client,
      ...(await consented(
        db,
        organizationId,
        {
          provider: "generic-oauth2",
          settings: {
            authorization_url: op.endpoints.authorization,
            token_url: op.endpoints.token,
            client_auth: auth,
            ...(revocationUrl ? { revocation_url: revocationUrl } : {}),
          },
          scopes: ["openid", "offline_access"],
          oauth_app: client,
        },
        op.issuer,
      )),
    };
  }

  const revocationCalls = () => op.requests.filter((r) => r.path === "/token/revocation");

  /** oidc-provider's answer to a refresh with this token: invalid_grant once it is revoked. */
  async function expectRefreshRefused(client: { client_id: string; client_secret: string }, refreshToken: string) {
    const res = await refreshAt(op.endpoints.token, {
      client_id: client.client_id,
      client_secret: client.client_secret,
      refresh_token: refreshToken,
    });
    expect(res.status, res.body).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: "invalid_grant" });
  }

  for (const auth of ["client_secret_basic", "client_secret_post"] as const) {
    it(`generic (${auth}): RFC 7009 POST token + token_type_hint=refresh_token with ${auth} → revoked; the refresh token is dead at oidc-provider`, async () => {
      const { db } = getDb();
      const org = await orgWithWebhook(db, `Generic ${auth}`);
      const c = await genericConnection(db, org.id, auth);
      op.resetRecording();
      const result = await disconnect(db, org.id, c.id);
      expect(result).toEqual({ revocation: { outcome: "revoked" }, revokedAtProvider: true });
      expect(op.events["revocation.error"]).toBe(0);

      const calls = revocationCalls();
      expect(calls).toHaveLength(1);
      const call: RecordedRequest = calls[0]!;
      expect(call.method).toBe("POST");
      expect(call.url).toBe("/token/revocation");
      expect(call.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      if (auth === "client_secret_basic") {
        // RFC 6749 §2.3.1: the secret's "+/=:&%~ " survive form-encoding before base64
        expect(parseBasicAuth(call.headers)).toEqual({
          clientId: c.client.client_id,
          clientSecret: c.client.client_secret,
        });
        expect(call.form).toEqual({ token: c.refreshToken, token_type_hint: "refresh_token" });
      } else {
        expect(call.headers.authorization).toBeUndefined();
        expect(call.form).toEqual({
          token: c.refreshToken,
          token_type_hint: "refresh_token",
          client_id: c.client.client_id,
          client_secret: c.client.client_secret,
        });
      }
      await expectRefreshRefused(c.client, c.refreshToken);
      await expectDisconnected(db, org.id, c.id, { outcome: "revoked" });
      await expectNothingLeaked(db, org.id, undefined, [c.refreshToken, c.accessToken, c.client.client_secret]);
    });
  }

  it("generic without a refresh token: the access token is revoked, with token_type_hint=access_token", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "Generic access");
    const c = await genericConnection(db, org.id, "client_secret_basic");
    await db.tokenSet.update({ where: { connectionId: c.id }, data: { refreshTokenEnc: null } });
    const before = await httpRequest(op.endpoints.userinfo, { headers: { authorization: `Bearer ${c.accessToken}` } });
    expect(before.status).toBe(200);
    op.resetRecording();
    expect((await disconnect(db, org.id, c.id)).revocation).toEqual({ outcome: "revoked" });
    expect(revocationCalls().map((r) => r.form)).toEqual([{ token: c.accessToken, token_type_hint: "access_token" }]);
    const after = await httpRequest(op.endpoints.userinfo, { headers: { authorization: `Bearer ${c.accessToken}` } });
    expect(after.status).toBe(401);
    await expectDisconnected(db, org.id, c.id, { outcome: "revoked" });
  });

  it("generic without revocation_url → unsupported, nothing sent; tokens deleted", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "Generic none");
    const c = await genericConnection(db, org.id, "client_secret_post", null);
    op.resetRecording();
    const result = await disconnect(db, org.id, c.id);
    const revocation = { outcome: "unsupported", reason: "no revocation URL is set for this connection" };
    expect(result).toEqual({ revocation, revokedAtProvider: null });
    expect(op.requests).toEqual([]);
    await expectDisconnected(db, org.id, c.id, revocation);
  });

  it("generic: 500 with canaries in error_description, then an echo of the whole request in `error` → failed, nothing of either kept", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "Generic 500");
    const a = await genericConnection(db, org.id, "client_secret_basic");
    op.failNext({
      path: "/token/revocation",
      status: 500,
      body: { error: "server_error", error_description: `${BODY_CANARY} while revoking ${a.refreshToken}` },
    });
    const first = (await disconnect(db, org.id, a.id)).revocation;
    expect(first).toEqual({ outcome: "failed", reason: "the provider answered HTTP 500 (server_error)" });
    await expectDisconnected(db, org.id, a.id, first);

    const b = await genericConnection(db, org.id, "client_secret_post");
    op.failNext({
      path: "/token/revocation",
      status: 400,
      body: (req) => ({ error: `${req.rawBody} ${BODY_CANARY}`, error_description: "echo" }),
    });
    const second = (await disconnect(db, org.id, b.id)).revocation;
    expect(second).toEqual({ outcome: "failed", reason: "the provider answered HTTP 400" });
    await expectDisconnected(db, org.id, b.id, second);
    const secrets = [a.refreshToken, a.accessToken, b.refreshToken, b.accessToken, op.clients.basic.client_secret];
    await expectNothingLeaked(db, org.id, first.reason, [...secrets, op.clients.post.client_secret]);
    await expectNothingLeaked(db, org.id, second.reason, [...secrets, op.clients.post.client_secret]);
  });

  it("generic whose revocation URL cannot be reached → 'the provider could not be reached: network'; tokens deleted", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "Generic unreachable");
    const c = await genericConnection(db, org.id, "client_secret_post", `${deadUrl}/revoke`);
    const { revocation } = await disconnect(db, org.id, c.id);
    expect(revocation).toEqual({ outcome: "failed", reason: "the provider could not be reached: network" });
    await expectDisconnected(db, org.id, c.id, revocation);
    await expectNothingLeaked(db, org.id, revocation.reason, [c.refreshToken, c.client.client_secret]);
  });

  // ---- no revocation in the catalogue -----------------------------------------------------------

  it("Backlog (no revocation endpoint documented) → unsupported, nothing sent to it; tokens deleted", async () => {
    const { db } = getDb();
    const org = await orgWithWebhook(db, "Backlog");
    const c = await consented(
      db,
      org.id,
      {
        provider: "backlog",
        settings: { space: BACKLOG.space },
        oauth_app: { client_id: BACKLOG.clientId, client_secret: BACKLOG.clientSecret },
      },
      backlog.url,
    );
    backlog.resetRecording();
    const result = await disconnect(db, org.id, c.id);
    const revocation = { outcome: "unsupported", reason: "the provider offers no token revocation" };
    expect(result).toEqual({ revocation, revokedAtProvider: null });
    expect(backlog.requests).toEqual([]);
    await expectDisconnected(db, org.id, c.id, revocation);
  });
});
