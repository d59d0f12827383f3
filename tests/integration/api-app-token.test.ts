// POST /api/v1/connections/{id}/app-token against the Azure AD emulator: a Microsoft 365 connection
// created through the API with an inline app carrying a certificate, consented by a tenant admin (v1
// code flow), then app-only tokens for that tenant by client credentials with a certificate
// assertion the emulator verifies; cached until shortly before expiry; no-store; 409/400 otherwise.
import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { env } from "@/lib/env";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { generateSelfSignedCertificate } from "@/lib/crypto/certificates";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { followAuthorize } from "../fixtures/http-emulator";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { decodeJwt } from "../helpers/consent";
import { api, auditText, consentVia, expectNoSecrets, expectProblem, newApiKey, type TestKey } from "../helpers/api";

const PROVIDER = "microsoft-365-management";
const CONTOSO = {
  tid: "41463f53-8812-40f4-890f-865bf6e35190",
  name: "Contoso, Inc.",
  adminUpn: "admin@contoso.onmicrosoft.com",
  adminName: "John Doe",
};
const APP = {
  clientId: "a6099727-6b7b-482c-b509-1df309acc563",
  clientSecret: `s3cr3t~${crypto.randomBytes(8).toString("hex")}+/=`,
};
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let emu: AzureAdEmulator;
let cert: { certificatePem: string; privateKeyPem: string };
let certSha1: string;

beforeAll(async () => {
  expect(env().egress.allowLoopback).toBe(true);
  cert = await generateSelfSignedCertificate({ commonName: "Consentry API app-only" });
  certSha1 = crypto.createHash("sha1").update(new crypto.X509Certificate(cert.certificatePem).raw).digest("base64url");
  emu = await createAzureAdEmulator({
    tenants: [CONTOSO],
    apps: [
      {
        ...APP,
        certificatePem: cert.certificatePem,
        redirectUris: [callbackUrl(PROVIDER)],
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

describeEachDb("REST API: app-only tokens (Azure AD emulator)", (getDb) => {
  let org: string;
  let key: TestKey;

  beforeAll(async () => {
    org = (await seedOrg(getDb().db)).id;
    key = await newApiKey(getDb().db, org);
  });
  afterAll(() => flushAuditBuffer());

  const appToken = (id: string) => api(getDb().db, "POST", `/api/v1/connections/${id}/app-token`, { key: key.key });

  async function createMicrosoft() {
    const res = await api(getDb().db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: PROVIDER,
        name: "Contoso audit log",
        oauth_app: {
          client_id: APP.clientId,
          client_secret: APP.clientSecret,
          certificate: { certificate_pem: cert.certificatePem, private_key_pem: cert.privateKeyPem },
        },
      },
    });
    expect(res.status, res.text).toBe(201);
    expectNoSecrets(res.text, [APP.clientSecret, cert.privateKeyPem]);
    return res.json as { connection: { id: string }; consent_url: string; redirect_uri: string };
  }

  it("before consent there is no tenant: 409 needs-reconsent", async () => {
    const c = await createMicrosoft();
    expectProblem(await appToken(c.connection.id), 409, "needs-reconsent");
  });

  it("after tenant-admin consent: an app-only token for the tenant GUID by certificate assertion, verified by the emulator; cached; no-store", async () => {
    const { db } = getDb();
    const c = await createMicrosoft();
    expect(c.redirect_uri).toBe(callbackUrl(PROVIDER));
    await consentVia(db, c.consent_url, (u) => followAuthorize(u, { origins: [emu.url] }));
    const conn = await api(db, "GET", `/api/v1/connections/${c.connection.id}`, { key: key.key });
    expect(conn.json).toMatchObject({ status: "active", tenant_id: CONTOSO.tid });

    emu.grantConsent(CONTOSO.tid, APP.clientId);
    emu.resetRecording();
    const res = await appToken(c.connection.id);
    expect(res.status, res.text).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Object.keys(res.json).sort()).toEqual(["access_token", "expires_at", "scopes", "tenant_id", "token_type"]);
    expect(res.json).toMatchObject({ token_type: "Bearer", tenant_id: CONTOSO.tid, scopes: [] });
    expect(res.json.tenant_id).toMatch(GUID);
    expect(new Date(res.json.expires_at).getTime()).toBeGreaterThan(Date.now() + 3000_000);

    // one client-credentials request at the tenant's endpoint, authenticated by a certificate assertion
    expect(emu.counters.clientCredentials).toBe(1);
    expect(emu.counters.tokenErrors).toBe(0);
    expect(emu.tokenRequests).toHaveLength(1);
    const tr = emu.tokenRequests[0]!;
    expect(tr.path).toBe(`/${CONTOSO.tid}/oauth2/token`);
    expect(tr.form).toEqual({
      resource: "https://manage.office.com",
      grant_type: "client_credentials",
      client_id: APP.clientId,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: expect.any(String),
    });
    const assertion = decodeJwt(tr.form.client_assertion!);
    expect(assertion.header).toMatchObject({ x5t: certSha1 });
    expect(assertion.payload).toMatchObject({
      aud: emu.tokenEndpoint(CONTOSO.tid),
      iss: APP.clientId,
      sub: APP.clientId,
    });
    // the token is the emulator's, for that tenant, app-only by certificate (appidacr 2)
    const claims = await emu.verifyToken(res.json.access_token);
    expect(claims).toMatchObject({
      tid: CONTOSO.tid,
      appid: APP.clientId,
      appidacr: "2",
      aud: "https://manage.office.com",
    });

    // cached until shortly before it expires
    const again = await appToken(c.connection.id);
    expect(again.json.access_token).toBe(res.json.access_token);
    expect(emu.counters.clientCredentials).toBe(1);

    await flushAuditBuffer();
    expectNoSecrets(await auditText(db), [res.json.access_token, APP.clientSecret, cert.privateKeyPem, key.key]);
  });

  it("the tenant withdrew consent: 409 needs-reconsent with the reason", async () => {
    const { db } = getDb();
    const c = await createMicrosoft();
    await consentVia(db, c.consent_url, (u) => followAuthorize(u, { origins: [emu.url] }));
    emu.revokeConsent(CONTOSO.tid, APP.clientId);
    // a new connection id: the per-process cache is keyed by connection
    const res = await appToken(c.connection.id);
    expectProblem(res, 409, "needs-reconsent");
    expect(res.json.reason).toBe("consent_missing");
    emu.grantConsent(CONTOSO.tid, APP.clientId);
  });

  it("a provider without app-only tokens → 400", async () => {
    const res = await api(getDb().db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: "generic-oauth2",
        name: "generic",
        settings: { authorization_url: "http://127.0.0.1:9/auth", token_url: "http://127.0.0.1:9/token" },
        oauth_app: { client_id: "x", client_secret: "y" },
      },
    });
    expect(res.status, res.text).toBe(201);
    expectProblem(await appToken(res.json.connection.id), 400, "bad-request");
  });
});
