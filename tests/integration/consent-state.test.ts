// The callback's state checks (SECURITY 1-3, 9) and strict token-response parsing (SECURITY 24-25, 30),
// end to end against oidc-provider: a bad callback never reaches the token endpoint, stores nothing
// and leaves an audit trail; a bad token response stores nothing and keeps the previous token.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import {
  auditActions,
  authorizeAt,
  callbackFor,
  deliverCallback,
  expectFailure,
  expectLoopbackAllowance,
  expectNothingStored,
  expectSuccess,
  newConnection,
  newOrg,
  runFlow,
  startFlow,
  storedTokens,
  newBrowser,
} from "../helpers/consent";
import { describeEachDb } from "../helpers/db";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { faults } from "../fixtures/http-emulator";
import { STATE_TTL_MS } from "@/lib/consent/start-consent";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

const PROVIDER = "generic-oauth2";
let op: OidcServer;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  op = await createOidcServer({ redirectUris: [callbackFor(PROVIDER)], ttl: { AccessToken: 300, RefreshToken: 600 } });
});
afterAll(async () => op?.close());

describeEachDb("consent callback: state, CSRF and malformed token responses", (getDb) => {
  async function pendingConnection() {
    const { db } = getDb();
    const org = await newOrg(db);
    const c = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: { authorization_url: `${op.issuer}/auth`, token_url: `${op.issuer}/token` },
      scopes: ["openid", "offline_access"],
      oauth_app: { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret },
    });
    op.resetRecording();
    op.clearFaults();
    return { db, org, c };
  }

  // ---- state and CSRF -------------------------------------------------------------------------

  it("a state issued to another browser → wrong_browser (400), no token request, audit oauth.state_mismatch; the state is burnt", async () => {
    const { db, org, c } = await pendingConnection();
    const flow = await startFlow(db, org.id, c.id);
    const callback = await authorizeAt(flow.authorizationUrl);
    const outcome = await deliverCallback(db, callback, newBrowser());
    expectFailure(outcome, "wrong_browser");
    if (!outcome.ok) expect(outcome.status).toBe(400);
    expect(op.tokenRequests).toHaveLength(0);
    const audit = await auditActions(db, { organizationId: org.id, action: "oauth.state_mismatch" });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: "denied", targetType: "connection", targetId: c.id });
    expect(JSON.stringify(audit[0])).not.toContain(callback.searchParams.get("code")!);
    // no cookie at all is the same refusal
    const again = await startFlow(db, org.id, c.id);
    expectFailure(await deliverCallback(db, await authorizeAt(again.authorizationUrl), undefined), "wrong_browser");
    // single-use even on failure: the rightful browser now gets state_invalid, still no token request
    expectFailure(await deliverCallback(db, callback, flow.browserSecret), "state_invalid");
    expect(op.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c.id);
  });

  it("no state → state_missing (400), audited, nothing exchanged; the open flow is untouched", async () => {
    const { db, org, c } = await pendingConnection();
    const flow = await startFlow(db, org.id, c.id);
    const callback = await authorizeAt(flow.authorizationUrl);
    const stripped = new URL(callback);
    stripped.searchParams.delete("state");
    const outcome = await deliverCallback(db, stripped, flow.browserSecret);
    expectFailure(outcome, "state_missing");
    if (!outcome.ok) expect(outcome.status).toBe(400);
    expect(op.tokenRequests).toHaveLength(0);
    expect(await auditActions(db, { action: "oauth.state_missing" })).toHaveLength(1);
    await expectNothingStored(db, c.id);
    // an unknown state is refused the same way
    const bogus = new URL(callback);
    bogus.searchParams.set("state", "x".repeat(43));
    expectFailure(await deliverCallback(db, bogus, flow.browserSecret), "state_invalid");
    expect(op.tokenRequests).toHaveLength(0);
    // control: the genuine callback still completes
    expectSuccess(await deliverCallback(db, callback, flow.browserSecret));
  });

  it("a state older than 10 minutes → state_expired, no token request, nothing stored", async () => {
    const { db, org, c } = await pendingConnection();
    const before = Date.now();
    const flow = await startFlow(db, org.id, c.id);
    const row = await db.consentRequest.findUniqueOrThrow({ where: { id: flow.consentRequestId } });
    expect(STATE_TTL_MS).toBe(10 * 60_000);
    expect(row.stateExpiresAt!.getTime()).toBeGreaterThanOrEqual(before + STATE_TTL_MS);
    expect(row.stateExpiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + STATE_TTL_MS);
    const callback = await authorizeAt(flow.authorizationUrl);
    // the admin took 10 minutes and one second
    await db.consentRequest.update({
      where: { id: flow.consentRequestId },
      data: { stateExpiresAt: new Date(Date.now() - 1000) },
    });
    expectFailure(await deliverCallback(db, callback, flow.browserSecret), "state_expired");
    expect(op.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c.id);
    expect(await auditActions(db, { organizationId: org.id, action: "consent.failed" })).toEqual([
      expect.objectContaining({ targetId: c.id, details: expect.objectContaining({ reason: "state_expired" }) }),
    ]);
  });

  it("a replayed callback → the second is state_invalid; the code is exchanged once", async () => {
    const { db, org, c } = await pendingConnection();
    const { callback, browserSecret, outcome } = await runFlow(db, org.id, c.id);
    expectSuccess(outcome);
    const first = await storedTokens(db, org.id, c.id);
    expectFailure(await deliverCallback(db, callback, browserSecret), "state_invalid");
    expect(op.tokenRequests).toHaveLength(1);
    expect(op.events["authorization_code.consumed"]).toBe(1);
    expect(op.events["grant.revoked"]).toBe(0);
    const after = await storedTokens(db, org.id, c.id);
    expect(after!.row.version).toBe(first!.row.version);
    expect(after!.accessToken).toBe(first!.accessToken);
  });

  it("the same callback twice at once → exactly one succeeds; OP consumes the code once and revokes nothing", async () => {
    const { db, org, c } = await pendingConnection();
    const flow = await startFlow(db, org.id, c.id);
    const callback = await authorizeAt(flow.authorizationUrl);
    const outcomes = await Promise.all([
      deliverCallback(db, callback, flow.browserSecret),
      deliverCallback(db, callback, flow.browserSecret),
    ]);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.ok)).toEqual([expect.objectContaining({ ok: false, reason: "state_invalid" })]);
    expect(op.tokenRequests).toHaveLength(1);
    expect(op.events["authorization_code.consumed"]).toBe(1);
    expect(op.events["grant.success"]).toBe(1);
    expect(op.events["grant.revoked"]).toBe(0);
    expect(await db.tokenSet.count({ where: { connectionId: c.id } })).toBe(1);
    expect((await db.connection.findUniqueOrThrow({ where: { id: c.id } })).status).toBe("active");
  });

  it("a generic flow returning on another provider's callback path → wrong_provider, nothing stored (SECURITY 9)", async () => {
    const { db, org, c } = await pendingConnection();
    const flow = await startFlow(db, org.id, c.id);
    const callback = await authorizeAt(flow.authorizationUrl);
    const mixedUp = new URL(callback);
    mixedUp.pathname = "/api/oauth/callback/microsoft-365-management";
    const outcome = await deliverCallback(db, mixedUp, flow.browserSecret);
    expectFailure(outcome, "wrong_provider");
    expect(op.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c.id);
    expect(await auditActions(db, { organizationId: org.id, action: "oauth.provider_mismatch" })).toEqual([
      expect.objectContaining({
        targetId: c.id,
        details: expect.objectContaining({ callbackProvider: "microsoft-365-management" }),
      }),
    ]);
  });

  // ---- malformed token responses --------------------------------------------------------------

  const malformed: Array<[string, Parameters<OidcServer["failNext"]>[0], string]> = [
    ["an HTML page with HTTP 200", faults.html(200), "invalid_response"],
    ["a form-encoded (non-JSON) body", faults.nonJson(), "invalid_response"],
    ["a JSON array", { status: 200, body: "[]" }, "invalid_response"],
    ["no access_token", faults.mutate((b) => ({ ...b, access_token: undefined })), "invalid_response"],
    ["no token_type", faults.mutate((b) => ({ ...b, token_type: undefined })), "invalid_response"],
    ['expires_in "abc"', faults.mutate((b) => ({ ...b, expires_in: "abc" })), "invalid_response"],
    ["a negative expires_in", faults.mutate((b) => ({ ...b, expires_in: -5 })), "invalid_response"],
    // the 200-with-error quirk (Zoho) is the provider's refusal: classified by its `error`, stored nowhere
    ["HTTP 200 carrying an OAuth error", faults.errorIn200("invalid_grant"), "exchange_failed"],
  ];

  for (const [label, fault, reason] of malformed) {
    it(`token response with ${label} → ${reason}, nothing persisted`, async () => {
      const { db, org, c } = await pendingConnection();
      const flow = await startFlow(db, org.id, c.id);
      const callback = await authorizeAt(flow.authorizationUrl);
      op.failNext(fault);
      const outcome = await deliverCallback(db, callback, flow.browserSecret);
      expectFailure(outcome, reason);
      expect(op.tokenRequests).toHaveLength(1);
      expect(op.counters.faultsInjected).toBe(1);
      await expectNothingStored(db, c.id);
      // the upstream body never reaches the person (SECURITY 30)
      expect(JSON.stringify(outcome)).not.toMatch(/Service Unavailable|<html|The grant is invalid/i);
      const conn = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
      expect(conn.lastErrorCode).toBe(reason);
    });
  }

  it("re-consent of an active connection with a bad token response keeps the old token and status", async () => {
    const { db, org, c } = await pendingConnection();
    expectSuccess((await runFlow(db, org.id, c.id)).outcome);
    const before = await storedTokens(db, org.id, c.id);
    const connBefore = await db.connection.findUniqueOrThrow({ where: { id: c.id } });

    for (const fault of [faults.html(), faults.mutate((b) => ({ ...b, access_token: undefined }))]) {
      const flow = await startFlow(db, org.id, c.id);
      const callback = await authorizeAt(flow.authorizationUrl);
      op.failNext(fault);
      expectFailure(await deliverCallback(db, callback, flow.browserSecret), "invalid_response");
    }
    expect(op.counters.faultsInjected).toBe(2);
    const after = await storedTokens(db, org.id, c.id);
    expect(after!.row.version).toBe(before!.row.version);
    expect(after!.row.accessTokenEnc).toBe(before!.row.accessTokenEnc);
    expect(after!.accessToken).toBe(before!.accessToken);
    expect(after!.refreshToken).toBe(before!.refreshToken);
    const connAfter = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
    expect(connAfter.status).toBe("active");
    expect(connAfter.expiresAt).toEqual(connBefore.expiresAt);
    expect(connAfter.connectedAt).toEqual(connBefore.connectedAt);
  });
});
