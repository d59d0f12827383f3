// Generic OAuth 2.0 connections (seed 001, trocco's fields) against a real authorization server
// (oidc-provider, PKCE required): client_secret_post and client_secret_basic, PKCE S256, extra
// authorization parameters, encrypted storage, injected codes (SECURITY 6-7) and a canary scan of
// every table after the flows (SECURITY 32).
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
  newConnection,
  newOrg,
  startFlow,
  storedTokens,
} from "../helpers/consent";
import { describeEachDb, dumpAllRows } from "../helpers/db";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { httpRequest, s256 } from "../fixtures/http-emulator";
import { decryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

const PROVIDER = "generic-oauth2";
const SCOPES = ["openid", "offline_access", "api:read"];
let op: OidcServer;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  op = await createOidcServer({
    redirectUris: [callbackFor(PROVIDER)],
    pkceRequired: true,
    ttl: { AccessToken: 300, RefreshToken: 600 },
  });
});
afterAll(async () => op?.close());

function genericSettings(extra: Record<string, unknown> = {}) {
  return { authorization_url: `${op.issuer}/auth`, token_url: `${op.issuer}/token`, ...extra };
}

/** OP's own view of a token (RFC 7662), authenticated as the post client. */
async function introspect(token: string): Promise<Record<string, unknown>> {
  const body = new URLSearchParams({
    token,
    client_id: op.clients.post.client_id,
    client_secret: op.clients.post.client_secret,
  }).toString();
  const res = await httpRequest(op.endpoints.introspection, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  return JSON.parse(res.body) as Record<string, unknown>;
}

describeEachDb("generic OAuth 2.0 consent against oidc-provider", (getDb) => {
  /** every plaintext secret the flows in this suite handled, for the final canary scan */
  const canaries = new Map<string, string>();

  it("client_secret_post: seed 001 request shapes, PKCE S256, extra parameters, tokens stored encrypted", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Post");
    const c = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: genericSettings({
        client_auth: "client_secret_post",
        authorization_params: { access_type: "offline", ui_locales: "ja" },
      }),
      scopes: SCOPES,
      oauth_app: { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret },
    });
    expect(c.status).toBe("pending_consent");
    op.resetRecording();

    const flow = await startFlow(db, org.id, c.id);
    const auth = new URL(flow.authorizationUrl);
    // seed 001: {AUTHORIZATION_ENDPOINT}?response_type=code&client_id=…&redirect_uri=…&scope=S1 S2&{extra}={value}
    expect(`${auth.origin}${auth.pathname}`).toBe(`${op.issuer}/auth`);
    const q = Object.fromEntries(auth.searchParams);
    expect(q).toMatchObject({
      response_type: "code",
      client_id: op.clients.post.client_id,
      redirect_uri: callbackFor(PROVIDER),
      scope: SCOPES.join(" "),
      access_type: "offline",
      ui_locales: "ja",
      code_challenge_method: "S256",
    });
    expect(auth.searchParams.getAll("code_challenge_method")).toEqual(["S256"]);
    expect(q.state).toMatch(/^[A-Za-z0-9_-]{43,}$/);

    // the verifier waiting in the database: encrypted, 43+ chars, and its S256 hash is the challenge
    const pending = await db.consentRequest.findUniqueOrThrow({ where: { id: flow.consentRequestId } });
    expect(pending.pkceVerifierEnc).toMatch(/^enc1\./);
    const verifier = decryptSecret(pending.pkceVerifierEnc!, contextFor("ConsentRequest", pending, "pkceVerifierEnc"));
    expect(verifier.length).toBeGreaterThanOrEqual(43);
    expect(verifier.length).toBeLessThanOrEqual(128);
    expect(verifier).toMatch(/^[A-Za-z0-9._~-]+$/);
    expect(q.code_challenge).toBe(s256(verifier));
    expect(q.code_challenge).not.toBe(verifier);

    const issued = captureNextTokenResponse(op);
    const callback = await authorizeAt(flow.authorizationUrl);
    expect(callback.searchParams.get("iss")).toBe(op.issuer);
    const code = callback.searchParams.get("code")!;
    const outcome = await deliverCallback(db, callback, flow.browserSecret);
    expectSuccess(outcome);

    // seed 001's token request: grant_type, client_id, client_secret, code, redirect_uri (+ the PKCE verifier)
    expect(op.tokenRequests).toHaveLength(1);
    const tr = op.tokenRequests[0]!;
    expect(tr.method).toBe("POST");
    expect(tr.path).toBe("/token");
    expect(String(tr.headers["content-type"])).toMatch(/^application\/x-www-form-urlencoded/);
    expect(tr.headers.authorization).toBeUndefined();
    expect(tr.form).toEqual({
      grant_type: "authorization_code",
      client_id: op.clients.post.client_id,
      client_secret: op.clients.post.client_secret,
      code,
      redirect_uri: callbackFor(PROVIDER),
      code_verifier: verifier,
    });
    expect(tr.duplicateParams).toEqual([]);
    expect(op.events["authorization_code.consumed"]).toBe(1);
    expect(op.events["grant.success"]).toBe(1);

    const conn = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
    expect(conn.status).toBe("active");
    expect(conn.connectedAt).not.toBeNull();
    expect(conn.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 200_000);
    const stored = await storedTokens(db, org.id, c.id);
    expect(issued.body?.access_token).toEqual(expect.any(String));
    expect(issued.body?.refresh_token).toEqual(expect.any(String));
    expect(stored!.accessToken).toBe(issued.body!.access_token);
    expect(stored!.refreshToken).toBe(issued.body!.refresh_token);
    expect(stored!.row.accessTokenEnc).toMatch(/^enc1\./);
    expect(stored!.row.refreshTokenEnc).toMatch(/^enc1\./);
    expect(stored!.row.accessTokenEnc).not.toContain(stored!.accessToken);
    expect(stored!.row.refreshTokenEnc).not.toContain(stored!.refreshToken!);
    // OP itself recognises both as live tokens it issued to this client
    expect(await introspect(stored!.accessToken)).toMatchObject({ active: true, client_id: op.clients.post.client_id });
    expect(await introspect(stored!.refreshToken!)).toMatchObject({
      active: true,
      client_id: op.clients.post.client_id,
    });
    // the flow state is gone: single use, verifier wiped
    const used = await db.consentRequest.findUniqueOrThrow({ where: { id: flow.consentRequestId } });
    expect(used).toMatchObject({ stateHash: null, pkceVerifierEnc: null, browserHash: null });
    expect(used.usedAt).not.toBeNull();

    canaries
      .set("post access token", stored!.accessToken)
      .set("post refresh token", stored!.refreshToken!)
      .set("post code", code)
      .set("post verifier", verifier)
      .set("post client secret", op.clients.post.client_secret);
    if (stored!.idToken) canaries.set("post id token", stored!.idToken);
  });

  it("client_secret_basic: credentials only in the Authorization header (form-encoded, any characters)", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Basic");
    const c = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: genericSettings({ client_auth: "client_secret_basic" }),
      scopes: SCOPES,
      oauth_app: { client_id: op.clients.basic.client_id, client_secret: op.clients.basic.client_secret },
    });
    op.resetRecording();
    const flow = await startFlow(db, org.id, c.id);
    const issued = captureNextTokenResponse(op);
    const callback = await authorizeAt(flow.authorizationUrl);
    expectSuccess(await deliverCallback(db, callback, flow.browserSecret));

    const tr = op.tokenRequests[0]!;
    expect(tr.headers.authorization).toMatch(/^Basic /);
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
    expect(tr.headers.authorization).toBe(
      `Basic ${Buffer.from(`${enc(op.clients.basic.client_id)}:${enc(op.clients.basic.client_secret)}`).toString("base64")}`,
    );
    expect(tr.form.client_secret).toBeUndefined();
    expect(tr.form.client_id).toBeUndefined();
    expect(tr.form.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(op.events["grant.success"]).toBe(1);

    const stored = await storedTokens(db, org.id, c.id);
    expect(stored!.accessToken).toBe(issued.body!.access_token);
    expect(stored!.refreshToken).toBe(issued.body!.refresh_token);
    expect((await db.connection.findUniqueOrThrow({ where: { id: c.id } })).status).toBe("active");
    canaries
      .set("basic access token", stored!.accessToken)
      .set("basic refresh token", stored!.refreshToken!)
      .set("basic client secret", op.clients.basic.client_secret)
      .set("basic code", callback.searchParams.get("code")!)
      .set("basic verifier", tr.form.code_verifier!);
  });

  it("without a code_verifier the OP refuses the exchange (PKCE required), and nothing is stored", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "NoPkce");
    const c = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: genericSettings({ use_pkce: false }),
      scopes: SCOPES,
      oauth_app: { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret },
    });
    op.resetRecording();
    const flow = await startFlow(db, org.id, c.id);
    expect(new URL(flow.authorizationUrl).searchParams.has("code_challenge")).toBe(false);
    // OP (pkce.required) answers the authorization request itself with an error redirect
    const callback = await authorizeAt(flow.authorizationUrl);
    expect(callback.searchParams.get("error")).toBe("invalid_request");
    const outcome = await deliverCallback(db, callback, flow.browserSecret);
    expectFailure(outcome, "provider_error");
    expect(op.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c.id);
  });

  it("RFC 9207: with the issuer setting, a callback carrying that iss completes; one from another issuer (mix-up) or without iss is refused before any token request", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Issuer");
    const app = { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret };
    const ok = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: genericSettings({ issuer: op.issuer }),
      scopes: SCOPES,
      oauth_app: app,
    });
    const good = await startFlow(db, org.id, ok.id);
    const callback = await authorizeAt(good.authorizationUrl);
    expect(callback.searchParams.get("iss")).toBe(op.issuer); // the OP names itself on the redirect
    expectSuccess(await deliverCallback(db, callback, good.browserSecret));

    for (const tamper of [
      (u: URL) => u.searchParams.set("iss", "https://evil.example"),
      (u: URL) => u.searchParams.delete("iss"),
    ]) {
      const c = await newConnection(db, org.id, {
        provider: PROVIDER,
        settings: genericSettings({ issuer: op.issuer }),
        scopes: SCOPES,
        oauth_app: app,
      });
      const flow = await startFlow(db, org.id, c.id);
      const cb = await authorizeAt(flow.authorizationUrl);
      tamper(cb);
      op.resetRecording();
      expectFailure(await deliverCallback(db, cb, flow.browserSecret), "issuer_mismatch");
      expect(op.tokenRequests).toHaveLength(0);
      await expectNothingStored(db, c.id);
    }
  });

  it("an attacker's code injected into the victim's callback fails at the OP (verifier mismatch); the victim's connection stays pending", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Victim");
    const app = await saveOAuthApp({
      db,
      organizationId: org.id,
      input: {
        providerId: PROVIDER,
        name: "OP post",
        clientId: op.clients.post.client_id,
        clientSecret: op.clients.post.client_secret,
      },
      actor,
    });
    const victim = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: genericSettings(),
      scopes: SCOPES,
      oauth_app_id: app.id,
    });
    const attackerOrg = await newOrg(db, "Attacker");
    const attacker = await newConnection(db, attackerOrg.id, {
      provider: PROVIDER,
      settings: genericSettings(),
      scopes: SCOPES,
      oauth_app: { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret },
    });

    // the attacker runs their own flow up to the redirect and keeps the code
    const attackerFlow = await startFlow(db, attackerOrg.id, attacker.id);
    const attackerCallback = await authorizeAt(attackerFlow.authorizationUrl);
    const attackerCode = attackerCallback.searchParams.get("code")!;

    const victimFlow = await startFlow(db, org.id, victim.id);
    const victimCallback = await authorizeAt(victimFlow.authorizationUrl);
    const forged = new URL(victimCallback);
    forged.searchParams.set("code", attackerCode);
    op.resetRecording();
    const outcome = await deliverCallback(db, forged, victimFlow.browserSecret);
    expectFailure(outcome, "exchange_failed");
    if (!outcome.ok) expect(outcome.providerError).toBe("invalid_grant");
    // the exchange reached OP with the victim's verifier and was refused there
    expect(op.tokenRequests).toHaveLength(1);
    expect(op.tokenRequests[0]!.form.code).toBe(attackerCode);
    expect(op.events["grant.success"]).toBe(0);
    expect(op.events["grant.error"]).toBe(1);
    expect(op.eventLog.find((e) => e.name === "grant.error")?.error?.message).toBe("invalid_grant");
    await expectNothingStored(db, victim.id);
    const after = await db.connection.findUniqueOrThrow({ where: { id: victim.id } });
    expect(after.lastErrorCode).toBe("exchange_failed");
    // control: the code itself was good — only the verifier was wrong. With the attacker's own state
    // (and so the attacker's verifier) the same code is redeemed, for the attacker's connection only.
    expectSuccess(await deliverCallback(db, attackerCallback, attackerFlow.browserSecret));
    expect(op.events["grant.success"]).toBe(1);
    expect((await db.connection.findUniqueOrThrow({ where: { id: attacker.id } })).status).toBe("active");
    await expectNothingStored(db, victim.id);
  });

  it("canary scan: no plaintext token, client secret, code or PKCE verifier in any table", async () => {
    const t = getDb();
    expect(canaries.size).toBeGreaterThanOrEqual(9);
    const dump = await dumpAllRows(t);
    // positive control: the scan does see stored, non-secret values of these flows
    expect(dump.text).toContain(op.clients.post.client_id);
    expect(dump.text).toContain(`${op.issuer}/token`);
    for (const [label, value] of canaries)
      expect(dump.text.includes(value), `${label} found in plaintext in the database`).toBe(false);
  });
});
