// Microsoft 365 (Office 365 Management API) against the Azure AD emulator: seed 000's v1 admin-consent
// code flow exactly, tid/upn/name from the access token we obtained, the unsigned v1 id_token,
// certificate app-only tokens (SECURITY 14), and v2 admin consent including the forged-tenant
// callback (SECURITY 12) and error-over-admin_consent (SECURITY 13).
import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import {
  actor,
  auditActions,
  authorizeAt,
  callbackFor,
  captureNextTokenResponse,
  decodeJwt,
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
import { describeEachDb } from "../helpers/db";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { faults } from "../fixtures/http-emulator";
import { generateSelfSignedCertificate } from "@/lib/crypto/certificates";
import { createConnection } from "@/lib/connections/create-connection";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { getAppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { requestAppOnlyToken } from "@/lib/oauth/app-only-token";
import { readTenantClaims } from "@/lib/oauth/read-token-claims";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { renderTemplate, setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { testConnection } from "@/lib/connections/test-connection";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

const PROVIDER = "microsoft-365-management";
const provider = PROVIDERS.get(PROVIDER)!;
// seed 000's example tenant and app
const CONTOSO = {
  tid: "41463f53-8812-40f4-890f-865bf6e35190",
  name: "Contoso, Inc.",
  adminUpn: "admin@contoso.onmicrosoft.com",
  adminName: "John Doe",
  adminOid: "1cef1fdb-ff52-48c4-8e4e-dfb5ea83d357",
};
const FABRIKAM = {
  tid: "8f1c9e7a-3b52-4d6e-9a10-2c4b5d6e7f80",
  name: "Fabrikam",
  adminUpn: "admin@fabrikam.onmicrosoft.com",
  adminName: "Fabrikam Admin",
};
const NORTHWIND = {
  tid: "0b7d2a34-5c6e-4f81-9d02-a1b2c3d4e5f6",
  name: "Northwind",
  adminUpn: "admin@northwind.onmicrosoft.com",
  adminName: "Northwind Admin",
};
const WOODGROVE = {
  tid: "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
  name: "Woodgrove",
  adminUpn: "admin@woodgrove.onmicrosoft.com",
  adminName: "Woodgrove Admin",
};
const SECRET_APP = {
  clientId: "2d4d11a2-f814-46a7-890a-274a72a7309e",
  clientSecret: `s3cr3t~${crypto.randomBytes(8).toString("hex")}+/=`,
};
const CERT_APP_ID = "a6099727-6b7b-482c-b509-1df309acc563";

let emu: AzureAdEmulator;
let cert: { certificatePem: string; privateKeyPem: string };
let certSha1: string;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  cert = await generateSelfSignedCertificate({ commonName: "Consentry test app-only" });
  certSha1 = crypto.createHash("sha1").update(new crypto.X509Certificate(cert.certificatePem).raw).digest("base64url");
  emu = await createAzureAdEmulator({
    tenants: [CONTOSO, FABRIKAM, NORTHWIND, WOODGROVE],
    apps: [
      { ...SECRET_APP, redirectUris: [callbackFor(PROVIDER)], displayName: "Consentry secret app" },
      // the certificate app also keeps a secret, for the client-secret alternative
      {
        clientId: CERT_APP_ID,
        clientSecret: SECRET_APP.clientSecret,
        certificatePem: cert.certificatePem,
        redirectUris: [callbackFor(PROVIDER)],
        displayName: "Consentry cert app",
      },
    ],
    defaultSignIn: { tid: CONTOSO.tid, decision: "approve" },
  });
  setProviderHostOverridesForTests({ "https://login.windows.net": emu.url, "https://manage.office.com": emu.url });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await emu?.close();
});

describeEachDb("Microsoft 365 consent against the Azure AD emulator", (getDb) => {
  /** The platform ("embedded") app with the uploaded certificate, shared by every organization of this database. */
  let platformCertAppId: string;
  beforeAll(async () => {
    const app = await saveOAuthApp({
      db: getDb().db,
      organizationId: null,
      input: {
        providerId: PROVIDER,
        name: "Platform cert app",
        clientId: CERT_APP_ID,
        certificatePem: cert.certificatePem,
        privateKeyPem: cert.privateKeyPem,
      },
      actor,
    });
    platformCertAppId = app.id;
  });

  it("seed 000 v1 flow: exact authorize URL, token request at /common/oauth2/token, tid/upn/name stored, string expires_in, unsigned id_token", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Contoso customer");
    const c = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: {},
      oauth_app: { client_id: SECRET_APP.clientId, client_secret: SECRET_APP.clientSecret },
    });
    emu.resetRecording();
    const flow = await startFlow(db, org.id, c.id);
    const state = new URL(flow.authorizationUrl).searchParams.get("state")!;
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(flow.authorizationUrl).toBe(
      `${emu.url}/common/oauth2/authorize?response_type=code&resource=https%3A%2F%2Fmanage.office.com&client_id=${SECRET_APP.clientId}&redirect_uri=${encodeURIComponent(callbackFor(PROVIDER))}&state=${state}`,
    );

    emu.setNextSignIn({ tid: CONTOSO.tid });
    const issued = captureNextTokenResponse(emu);
    const callback = await authorizeAt(flow.authorizationUrl);
    const code = callback.searchParams.get("code")!;
    const requestedAt = Date.now();
    const outcome = await deliverCallback(db, callback, flow.browserSecret);
    expectSuccess(outcome);
    if (outcome.ok)
      expect(outcome).toMatchObject({
        tenantId: CONTOSO.tid,
        tenantLabel: "contoso.onmicrosoft.com",
        connectionId: c.id,
      });

    expect(emu.tokenRequests).toHaveLength(1);
    const tr = emu.tokenRequests[0]!;
    expect(tr.method).toBe("POST");
    expect(tr.path).toBe("/common/oauth2/token");
    expect(tr.headers.authorization).toBeUndefined();
    expect(tr.form).toEqual({
      resource: "https://manage.office.com",
      client_id: SECRET_APP.clientId,
      redirect_uri: callbackFor(PROVIDER),
      client_secret: SECRET_APP.clientSecret,
      grant_type: "authorization_code",
      code,
    });
    expect(emu.counters.grantsIssued).toBe(1);

    // what Azure returned: v1 strings and an unsigned id_token
    expect(issued.body).toMatchObject({
      expires_in: "3599",
      token_type: "Bearer",
      resource: "https://manage.office.com",
    });
    expect(decodeJwt(issued.body!.id_token as string).header.alg).toBe("none");
    const conn = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
    expect(conn).toMatchObject({
      status: "active",
      externalTenantId: CONTOSO.tid,
      accountEmail: CONTOSO.adminUpn,
      accountName: CONTOSO.adminName,
      accountId: CONTOSO.adminOid,
    });
    const lifetime = (conn.expiresAt!.getTime() - requestedAt) / 1000;
    expect(lifetime).toBeGreaterThan(3599 - 30);
    expect(lifetime).toBeLessThanOrEqual(3599 + 1);
    const stored = await storedTokens(db, org.id, c.id);
    expect(stored!.accessToken).toBe(issued.body!.access_token);
    expect(stored!.refreshToken).toBe(issued.body!.refresh_token);
    expect(stored!.idToken).toBe(issued.body!.id_token);
    expect(decodeJwt(stored!.accessToken).payload.tid).toBe(CONTOSO.tid);

    // the stored token works at the Management API of that tenant (the emulator verifies aud and tid)
    const test = await testConnection({ db, organizationId: org.id, connectionId: c.id, actor });
    expect(test).toMatchObject({ ok: true, status: 200 });
    const api = emu.requests.filter((r) => r.path.startsWith("/api/v1.0/"));
    expect(api.map((r) => r.path)).toEqual([`/api/v1.0/${CONTOSO.tid}/activity/feed/subscriptions/list`]);
    expect(api[0]!.headers.authorization).toBe(`Bearer ${stored!.accessToken}`);
    expect(JSON.stringify(test)).not.toContain(stored!.accessToken);
  });

  it("an Azure flow returning on the generic provider's callback path → wrong_provider, no token request (SECURITY 9)", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    const c = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: {},
      oauth_app: { client_id: SECRET_APP.clientId, client_secret: SECRET_APP.clientSecret },
    });
    const flow = await startFlow(db, org.id, c.id);
    emu.setNextSignIn({ tid: NORTHWIND.tid });
    const callback = await authorizeAt(flow.authorizationUrl);
    emu.resetRecording();
    const mixedUp = new URL(callback);
    mixedUp.pathname = "/api/oauth/callback/generic-oauth2";
    expectFailure(await deliverCallback(db, mixedUp, flow.browserSecret), "wrong_provider");
    expect(emu.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c.id);
  });

  it("app-only token with the uploaded certificate: POST /{tid}/oauth2/token, assertion verified by the emulator, fresh jti each time", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    emu.grantConsent(CONTOSO.tid, CERT_APP_ID);
    const app = await getAppCredentials({ db, appId: platformCertAppId, organizationId: org.id });
    expect(app.certificate?.sha1).toBe(certSha1);
    emu.resetRecording();
    const first = await requestAppOnlyToken({ provider, app, tenantId: CONTOSO.tid });
    const second = await requestAppOnlyToken({ provider, app, tenantId: CONTOSO.tid });
    expect(emu.counters.clientCredentials).toBe(2);
    expect(emu.counters.tokenErrors).toBe(0);
    expect(readTenantClaims(provider, first.accessToken)?.tenantId).toBe(CONTOSO.tid);
    expect(decodeJwt(second.accessToken).payload).toMatchObject({
      tid: CONTOSO.tid,
      appid: CERT_APP_ID,
      appidacr: "2",
      aud: "https://manage.office.com",
    });

    const endpoint = `${emu.url}/${CONTOSO.tid}/oauth2/token`;
    expect(emu.tokenEndpoint(CONTOSO.tid)).toBe(endpoint);
    const assertions = emu.tokenRequests.map((r) => {
      expect(r.path).toBe(`/${CONTOSO.tid}/oauth2/token`);
      expect(r.form).toEqual({
        resource: "https://manage.office.com",
        grant_type: "client_credentials",
        client_id: CERT_APP_ID,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: expect.any(String),
      });
      return decodeJwt(r.form.client_assertion!);
    });
    for (const { header, payload } of assertions) {
      expect(header).toMatchObject({ alg: "RS256", x5t: certSha1 });
      expect(payload).toMatchObject({ aud: endpoint, iss: CERT_APP_ID, sub: CERT_APP_ID });
      expect(typeof payload.jti).toBe("string");
      const nbf = payload.nbf as number;
      const exp = payload.exp as number;
      expect(exp - nbf).toBeGreaterThan(0);
      expect(exp - nbf).toBeLessThanOrEqual(600);
      expect(Math.abs(nbf - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(assertions[0]!.payload.jti).not.toBe(assertions[1]!.payload.jti);
    expect(emu.tokenRequests[0]!.form.client_assertion).not.toBe(emu.tokenRequests[1]!.form.client_assertion);
  });

  it("app-only token with a client secret instead of a certificate", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    const saved = await saveOAuthApp({
      db,
      organizationId: org.id,
      input: {
        providerId: PROVIDER,
        name: "Secret only",
        clientId: CERT_APP_ID,
        clientSecret: SECRET_APP.clientSecret,
      },
      actor,
    });
    const app = await getAppCredentials({ db, appId: saved.id, organizationId: org.id });
    expect(app.certificate).toBeNull();
    emu.grantConsent(CONTOSO.tid, CERT_APP_ID);
    emu.resetRecording();
    const token = await requestAppOnlyToken({ provider, app, tenantId: CONTOSO.tid });
    expect(decodeJwt(token.accessToken).payload).toMatchObject({ tid: CONTOSO.tid, appidacr: "1" });
    expect(emu.tokenRequests).toHaveLength(1);
    expect(emu.tokenRequests[0]!.path).toBe(`/${CONTOSO.tid}/oauth2/token`);
    expect(emu.tokenRequests[0]!.form).toEqual({
      resource: "https://manage.office.com",
      grant_type: "client_credentials",
      client_id: CERT_APP_ID,
      client_secret: SECRET_APP.clientSecret,
    });
  });

  it("the tenant of an app-only request is never common (or any non-GUID): refused before any request", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    const app = await getAppCredentials({ db, appId: platformCertAppId, organizationId: org.id });
    emu.resetRecording();
    for (const tenantId of [
      "common",
      "organizations",
      "consumers",
      "contoso.onmicrosoft.com",
      `${CONTOSO.tid}/../common`,
    ]) {
      await expect(requestAppOnlyToken({ provider, app, tenantId })).rejects.toMatchObject({
        name: "AppError",
        code: "bad-request",
      });
      expect(() => renderTemplate(provider, provider.appOnly!.tokenUrl, { tenant: tenantId })).toThrow(/GUID/);
    }
    expect(emu.requests).toHaveLength(0);
  });

  // ---- v2 admin consent ---------------------------------------------------------------------

  /** v2 admin consent is trusted only with the organization's own app registration (its own certificate app). */
  async function adminConsentConnection(orgName: string) {
    const { db } = getDb();
    const org = await newOrg(db, orgName);
    const own = await saveOAuthApp({
      db,
      organizationId: org.id,
      input: {
        providerId: PROVIDER,
        name: "Own cert app",
        clientId: CERT_APP_ID,
        certificatePem: cert.certificatePem,
        privateKeyPem: cert.privateKeyPem,
      },
      actor,
    });
    const c = await newConnection(db, org.id, {
      provider: PROVIDER,
      settings: { consent_mode: "v2_admin_consent" },
      oauth_app_id: own.id,
    });
    return { db, org, c };
  }

  it("v2 admin consent with the shared platform app is refused at creation: its tenant parameter would prove nothing", async () => {
    const { db } = getDb();
    const org = await newOrg(db, "Platform v2");
    await expect(
      createConnection({
        db,
        organizationId: org.id,
        input: {
          provider: PROVIDER,
          name: "v2 on platform app",
          settings: { consent_mode: "v2_admin_consent" },
          oauth_app_id: platformCertAppId,
        },
        actor,
      }),
    ).rejects.toMatchObject({
      code: "validation",
      errors: [expect.objectContaining({ path: "settings.consent_mode" })],
    });
    expect(await db.connection.count({ where: { organizationId: org.id } })).toBe(0);
  });

  it("v2 admin consent: links the tid read from an app-only token Consentry obtained itself", async () => {
    const { db, org, c } = await adminConsentConnection("Fabrikam customer");
    const flow = await startFlow(db, org.id, c.id);
    const auth = new URL(flow.authorizationUrl);
    expect(`${auth.origin}${auth.pathname}`).toBe(`${emu.url}/common/adminconsent`);
    expect(Object.fromEntries(auth.searchParams)).toEqual({
      client_id: CERT_APP_ID,
      redirect_uri: callbackFor(PROVIDER),
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });

    emu.setNextSignIn({ tid: FABRIKAM.tid });
    const callback = await authorizeAt(flow.authorizationUrl);
    expect(callback.searchParams.get("admin_consent")).toBe("True");
    expect(callback.searchParams.get("tenant")).toBe(FABRIKAM.tid);
    emu.resetRecording();
    const outcome = await deliverCallback(db, callback, flow.browserSecret);
    expectSuccess(outcome);
    if (outcome.ok) expect(outcome.tenantId).toBe(FABRIKAM.tid);
    // the proof: one certificate-authenticated client-credentials request at the tenant's own endpoint
    expect(emu.tokenRequests.map((r) => [r.path, r.form.grant_type, Boolean(r.form.client_assertion)])).toEqual([
      [`/${FABRIKAM.tid}/oauth2/token`, "client_credentials", true],
    ]);
    expect(emu.counters.clientCredentials).toBe(1);
    const conn = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
    expect(conn).toMatchObject({ status: "active", externalTenantId: FABRIKAM.tid });
    const stored = await storedTokens(db, org.id, c.id);
    expect(decodeJwt(stored!.accessToken).payload).toMatchObject({ tid: FABRIKAM.tid, appid: CERT_APP_ID });
  });

  it("forged /adminconsent callback: attacker's own valid state + a victim tenant linked elsewhere → tenant_conflict 409, nothing linked, audited", async () => {
    const { db } = getDb();
    const victim = await db.connection.findFirstOrThrow({
      where: { externalTenantId: FABRIKAM.tid, status: "active" },
      include: { tokenSet: true },
    });
    const { org, c } = await adminConsentConnection("Attacker");
    const flow = await startFlow(db, org.id, c.id);
    const state = new URL(flow.authorizationUrl).searchParams.get("state")!;
    const forged = new URL(
      `${callbackFor(PROVIDER)}?admin_consent=True&tenant=${FABRIKAM.tid}&state=${state}&scope=${encodeURIComponent("https://manage.office.com/.default")}`,
    );
    emu.resetRecording();
    const outcome = await deliverCallback(db, forged, flow.browserSecret);
    expectFailure(outcome, "tenant_conflict");
    if (!outcome.ok) expect(outcome.status).toBe(409);
    // the tenant value itself was never trusted: Consentry asked that tenant for a token first
    expect(emu.tokenRequests.map((r) => [r.path, r.form.grant_type])).toEqual([
      [`/${FABRIKAM.tid}/oauth2/token`, "client_credentials"],
    ]);
    await expectNothingStored(db, c.id);
    expect(await auditActions(db, { organizationId: org.id, action: "consent.failed" })).toEqual([
      expect.objectContaining({
        outcome: "denied",
        targetId: c.id,
        details: expect.objectContaining({ reason: "tenant_conflict", tenantId: FABRIKAM.tid }),
      }),
    ]);
    // the victim's connection is exactly as it was
    const after = await db.connection.findUniqueOrThrow({ where: { id: victim.id }, include: { tokenSet: true } });
    expect(after.organizationId).toBe(victim.organizationId);
    expect(after.status).toBe("active");
    expect(after.tokenSet!.version).toBe(victim.tokenSet!.version);
    expect(after.tokenSet!.accessTokenEnc).toBe(victim.tokenSet!.accessTokenEnc);
    expect(await db.connection.count({ where: { externalTenantId: FABRIKAM.tid } })).toBe(1);
  });

  it("forged /adminconsent callback naming a tenant that never consented → the app-only proof fails, nothing linked", async () => {
    const { db, org, c } = await adminConsentConnection("Attacker 2");
    const flow = await startFlow(db, org.id, c.id);
    const state = new URL(flow.authorizationUrl).searchParams.get("state")!;
    // Northwind exists but never consented to the certificate app
    expect(emu.isConsented(NORTHWIND.tid, CERT_APP_ID)).toBe(false);
    emu.resetRecording();
    const outcome = await deliverCallback(
      db,
      `${callbackFor(PROVIDER)}?admin_consent=True&tenant=${NORTHWIND.tid}&state=${state}`,
      flow.browserSecret,
    );
    expectFailure(outcome, "exchange_failed");
    expect(emu.tokenRequests.map((r) => r.path)).toEqual([`/${NORTHWIND.tid}/oauth2/token`]);
    expect(emu.counters.clientCredentials).toBe(0);
    expect(emu.counters.tokenErrors).toBe(1);
    await expectNothingStored(db, c.id);
    expect(await db.connection.count({ where: { externalTenantId: NORTHWIND.tid } })).toBe(0);
  });

  it("an app-only token for another tenant than the one the callback named → tenant_mismatch, nothing linked", async () => {
    const { db, org, c } = await adminConsentConnection("Mismatch");
    // a genuine token of Woodgrove, which the token endpoint will hand out instead of Fabrikam's
    emu.grantConsent(WOODGROVE.tid, CERT_APP_ID);
    const woodgroveToken = (
      await requestAppOnlyToken({
        provider,
        app: await getAppCredentials({ db, appId: platformCertAppId, organizationId: org.id }),
        tenantId: WOODGROVE.tid,
      })
    ).accessToken;
    const flow = await startFlow(db, org.id, c.id);
    const state = new URL(flow.authorizationUrl).searchParams.get("state")!;
    emu.failNext(faults.mutate((b) => ({ ...b, access_token: woodgroveToken })));
    const outcome = await deliverCallback(
      db,
      `${callbackFor(PROVIDER)}?admin_consent=True&tenant=${FABRIKAM.tid.toUpperCase()}&state=${state}`,
      flow.browserSecret,
    );
    expectFailure(outcome, "tenant_mismatch");
    await expectNothingStored(db, c.id);
    expect(await db.connection.count({ where: { externalTenantId: WOODGROVE.tid } })).toBe(0);
  });

  it("admin_consent=True with error=consent_required → the error wins: provider_error, no token request, nothing stored", async () => {
    const { db, org, c } = await adminConsentConnection("Declined");
    const flow = await startFlow(db, org.id, c.id);
    emu.setNextSignIn({
      tid: NORTHWIND.tid,
      decision: {
        error: "consent_required",
        error_description: "AADSTS65001: <b>The admin</b> has not consented.",
        error_codes: [65001],
      },
    });
    const callback = await authorizeAt(flow.authorizationUrl);
    expect(callback.searchParams.get("admin_consent")).toBe("True");
    expect(callback.searchParams.get("tenant")).toBe(NORTHWIND.tid);
    expect(callback.searchParams.get("error")).toBe("consent_required");
    emu.resetRecording();
    const outcome = await deliverCallback(db, callback, flow.browserSecret);
    expectFailure(outcome, "provider_error");
    if (!outcome.ok) expect(outcome.providerError).toBe("consent_required");
    expect(emu.tokenRequests).toHaveLength(0);
    await expectNothingStored(db, c.id);
    expect(await db.connection.count({ where: { externalTenantId: NORTHWIND.tid } })).toBe(0);
  });
});
