// Moving a connection (issue 18, part 5): POST /api/v1/connections/{id}/export → an encrypted file →
// POST /api/v1/connections/import into another organization or another installation (other keys),
// against a real authorization server (oidc-provider, refresh-token rotation on). Expired tokens are
// refreshed at import (refused: needs_reconsent); every refused file stores nothing; a migration proves
// its refresh token at the OP before anything is written; the file never holds an app secret, private
// key or installation key; GET /api/v1/oauth-apps lists the organization's and the platform's apps only.
import net from "node:net";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { env } from "@/lib/env";
import { openEnvelope, sealEnvelope, type TExportEnvelope } from "@/lib/crypto/export-envelope";
import { exportConnection, type TExportPayload } from "@/lib/connections/export-connection";
import { readExportFile } from "@/lib/connections/import-connection";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { openToken } from "@/lib/tokens/token-secrets";
import { MAX_BODY } from "@/lib/api/handle-api-request";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { authorizeAt } from "../helpers/consent";
import { describeEachDb } from "../helpers/db";
import { canary, seedConnection, seedOAuthApp, seedOrg, seedTokenSet } from "../helpers/factories";
import { connectViaConsent, storedTokens } from "../helpers/lifecycle";
import { K1, K2, installKeyring } from "../helpers/keyring";
import {
  ALL_SCOPES,
  api,
  auditText,
  expectNoSecrets,
  expectProblem,
  newApiKey,
  secretFieldsIn,
  type ApiResult,
  type TestKey,
} from "../helpers/api";

const GENERIC = "generic-oauth2";
const PASS = "correct horse battery staple";
const SYSTEM = { type: "system", label: "export test" } as const;
const MICROSOFT = "microsoft-365-management";
const MS_APP = { clientId: "2d4d11a2-f814-46a7-890a-274a72a7309e", clientSecret: `ms~${Date.now().toString(36)}+/=` };
const TENANTS = {
  contoso: "41463f53-8812-40f4-890f-865bf6e35190",
  fabrikam: "8f1c9e7a-3b52-4d6e-9a10-2c4b5d6e7f80",
  northwind: "0b7d2a34-5c6e-4f81-9d02-a1b2c3d4e5f6",
  woodgrove: "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
};
let op: OidcServer;
let azure: AzureAdEmulator;

beforeAll(async () => {
  expect(env().egress.allowLoopback).toBe(true);
  op = await createOidcServer({ redirectUris: [callbackUrl(GENERIC)], ttl: { AccessToken: 3600, RefreshToken: 7200 } });
  azure = await createAzureAdEmulator({
    tenants: Object.entries(TENANTS).map(([name, tid]) => ({
      tid,
      name,
      adminUpn: `admin@${name}.onmicrosoft.com`,
      adminName: `${name} admin`,
    })),
    apps: [{ ...MS_APP, redirectUris: [callbackUrl(MICROSOFT)] }],
  });
  setProviderHostOverridesForTests({ "https://login.windows.net": azure.url, "https://manage.office.com": azure.url });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await op?.close();
  await azure?.close();
});

const opSettings = () => ({
  authorization_url: op.endpoints.authorization,
  token_url: op.endpoints.token,
  client_auth: "client_secret_post",
});

/** A port nothing listens on: the provider is unreachable. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describeEachDb("connection export and import", (getDb) => {
  /** every plaintext secret the suite handled: none may appear in an answer other than the file's own tokens, nor in the audit trail */
  const secrets: string[] = [PASS];

  const call = (method: string, path: string, key: TestKey, body?: unknown) =>
    api(getDb().db, method, path, { key: key.key, body });

  /** An organization with a key (all scopes) and, unless `app: false`, its own app with the OP's client id. */
  async function newOrg({ app = true }: { app?: boolean } = {}) {
    const { db } = getDb();
    const org = await seedOrg(db);
    const key = await newApiKey(db, org.id);
    secrets.push(key.key);
    const appId = app
      ? (
          await saveOAuthApp({
            db,
            organizationId: org.id,
            input: {
              providerId: GENERIC,
              name: "OP app",
              clientId: op.clients.post.client_id,
              clientSecret: op.clients.post.client_secret,
            },
            actor: SYSTEM,
          })
        ).id
      : null;
    return { id: org.id, key, appId };
  }

  /** A generic connection consented for real at the OP in a new organization, with metadata and a secret setting. */
  async function connected() {
    const { db } = getDb();
    const org = await newOrg({ app: false });
    const header = canary("gateway-key");
    secrets.push(header);
    const { connectionId } = await connectViaConsent({
      db,
      organizationId: org.id,
      provider: GENERIC,
      settings: { ...opSettings(), api_headers: { "x-gateway-key": header } },
      scopes: ["openid", "offline_access", "api:read"],
      app: op.clients.post,
      authorize: (u) => op.authorize(u),
    });
    await db.connection.update({
      where: { id: connectionId },
      data: { customerMetadata: JSON.stringify({ customer_id: "c-42" }) },
    });
    const t = await storedTokens(db, connectionId);
    secrets.push(t.accessToken!, t.refreshToken!);
    return { org, connectionId, accessToken: t.accessToken!, refreshToken: t.refreshToken!, header };
  }

  async function exportVia(org: { key: TestKey }, connectionId: string): Promise<TExportEnvelope> {
    const res = await call("POST", `/api/v1/connections/${connectionId}/export`, org.key, { passphrase: PASS });
    expect(res.status, res.text).toBe(200);
    return res.json as TExportEnvelope;
  }

  const importVia = (org: { key: TestKey }, body: unknown) => call("POST", "/api/v1/connections/import", org.key, body);

  /** The refresh grants the OP has answered so far. */
  const refreshGrants = () => op.tokenRequests.filter((r) => r.form?.grant_type === "refresh_token").length;

  async function counts() {
    const { db } = getDb();
    return { connections: await db.connection.count(), tokenSets: await db.tokenSet.count() };
  }

  /** `run` is refused with this status and problem type, and not one row more exists afterwards. */
  async function refusedStoringNothing(run: () => Promise<ApiResult>, status: number, type: string) {
    const before = await counts();
    const res = await run();
    expectProblem(res, status, type);
    expect(await counts()).toEqual(before);
    expectNoSecrets(res.text, secrets);
    return res;
  }

  afterAll(async () => {
    installKeyring(K1);
    await flushAuditBuffer();
  });

  it("round trip between two organizations: same tokens, settings (secret ones too), scopes and metadata; a refresh works", async () => {
    const { db } = getDb();
    const a = await connected();
    const b = await newOrg();

    const res = await call("POST", `/api/v1/connections/${a.connectionId}/export`, a.org.key, { passphrase: PASS });
    expect(res.status, res.text).toBe(200);
    expect(res.headers["content-disposition"]).toBe(
      `attachment; filename="consentry-${GENERIC}-${a.connectionId}.json"`,
    );
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    const file = res.json as TExportEnvelope;
    expect(file).toMatchObject({ format: "consentry-connection-export", version: 1, kdf: { name: "scrypt" } });
    // the tokens are inside, encrypted: not one of them in the answer
    expectNoSecrets(res.text, [a.accessToken, a.refreshToken, a.header, op.clients.post.client_secret]);
    // an import body with this file fits the API's body limit with room to spare
    const body = JSON.stringify({ file, passphrase: PASS });
    expect(body.length).toBeLessThan(MAX_BODY / 4);

    const grants = refreshGrants();
    const imported = await importVia(b, { file, passphrase: PASS });
    expect(imported.status, imported.text).toBe(201);
    const c = imported.json.connection;
    expect(c.id).not.toBe(a.connectionId);
    expect(c).toMatchObject({
      provider: GENERIC,
      status: "active",
      scopes: ["openid", "offline_access", "api:read"],
      metadata: { customer_id: "c-42" },
      secret_settings: ["api_headers"],
      settings: { token_url: op.endpoints.token, client_auth: "client_secret_post" },
      last_refreshed_at: null,
    });
    expect(secretFieldsIn(imported.json)).toEqual([]);
    expectNoSecrets(imported.text, secrets);
    // still valid: no refresh at import
    expect(refreshGrants()).toBe(grants);

    const row = await db.connection.findUniqueOrThrow({ where: { id: c.id } });
    expect(row).toMatchObject({ organizationId: b.id, oauthAppId: b.appId, status: "active" });
    expect(row.nextRefreshAt).not.toBeNull();
    expect(row.settings).not.toContain(a.header); // the secret setting is sealed again, for the new row
    // the token API of B serves the very access token A had
    const token = await call("POST", `/api/v1/connections/${c.id}/token`, b.key, {});
    expect(token.status, token.text).toBe(200);
    expect(token.json.access_token).toBe(a.accessToken);
    expect((await getFreshToken({ db, organizationId: b.id, connectionId: c.id, minValidity: 60 })).accessToken).toBe(
      a.accessToken,
    );
    // and the grant lives on here: a refresh at the OP with B's app
    expect(await refreshConnection({ db, connectionId: c.id, reason: "on_demand" })).toEqual({ result: "refreshed" });
    const after = await storedTokens(db, c.id);
    expect(after.accessToken).not.toBe(a.accessToken);
    expect(after.refreshToken).not.toBe(a.refreshToken); // rotated at the OP
    secrets.push(after.accessToken!, after.refreshToken!);

    await flushAuditBuffer();
    const exported = await db.auditEvent.findFirstOrThrow({
      where: { organizationId: a.org.id, action: "connection.exported" },
    });
    expect(JSON.parse(exported.details)).toMatchObject({ provider: GENERIC, format_version: 1 });
    const imp = await db.auditEvent.findFirstOrThrow({
      where: { organizationId: b.id, action: "connection.imported" },
    });
    expect(imp).toMatchObject({ outcome: "success", targetId: c.id });
    expect(JSON.parse(imp.details)).toMatchObject({
      source: "export",
      provider: GENERIC,
      status: "active",
      refreshed: false,
      source_connection_id: a.connectionId,
    });
  });

  it("between two installations with different keys: the imported token set is sealed under the new keys only", async () => {
    const { db } = getDb();
    const a = await connected();
    const file = await exportVia(a.org, a.connectionId);
    try {
      // the other installation knows only its own key
      installKeyring(K2);
      const b = await newOrg();
      const res = await importVia(b, { file, passphrase: PASS });
      expect(res.status, res.text).toBe(201);
      const id = res.json.connection.id as string;
      const ts = await db.tokenSet.findUniqueOrThrow({ where: { connectionId: id } });
      for (const v of [ts.accessTokenEnc, ts.refreshTokenEnc!]) expect(v).toMatch(/^enc1\.k2\./);
      const owner = { organizationId: b.id, connectionId: id };
      expect(openToken(owner, "accessTokenEnc", ts.accessTokenEnc)).toBe(a.accessToken);
      expect(openToken(owner, "refreshTokenEnc", ts.refreshTokenEnc!)).toBe(a.refreshToken);
      expect((await getFreshToken({ db, organizationId: b.id, connectionId: id, minValidity: 60 })).accessToken).toBe(
        a.accessToken,
      );
      // under the first installation's keys it does not decrypt
      installKeyring(K1);
      expect(() => openToken(owner, "accessTokenEnc", ts.accessTokenEnc)).toThrow(/not configured/);
    } finally {
      installKeyring(K1);
    }
  });

  it("an expired access token is refreshed at import (active, rotated); a refused refresh arrives needs_reconsent", async () => {
    const { db } = getDb();
    const b = await newOrg();
    // expired, refreshable
    const a = await connected();
    await db.connection.update({ where: { id: a.connectionId }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    const file = await exportVia(a.org, a.connectionId);
    const grants = refreshGrants();
    const res = await importVia(b, { file, passphrase: PASS });
    expect(res.status, res.text).toBe(201);
    expect(refreshGrants()).toBe(grants + 1);
    expect(res.json.connection).toMatchObject({ status: "active", last_refreshed_at: expect.any(String) });
    expect(Date.parse(res.json.connection.expires_at)).toBeGreaterThan(Date.now() + 3000_000);
    const t = await storedTokens(db, res.json.connection.id);
    expect(t.accessToken).not.toBe(a.accessToken);
    expect(t.refreshToken).not.toBe(a.refreshToken);
    secrets.push(t.accessToken!, t.refreshToken!);

    // expired, and the OP refuses the grant
    const d = await connected();
    await db.connection.update({ where: { id: d.connectionId }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    const dead = await exportVia(d.org, d.connectionId);
    op.failNext({ status: 400, body: { error: "invalid_grant", error_description: `nope ${d.refreshToken}` } });
    const refused = await importVia(b, { file: dead, passphrase: PASS });
    expect(refused.status, refused.text).toBe(201);
    expect(refused.json.connection).toMatchObject({
      status: "needs_reconsent",
      last_error: { code: "invalid_grant" },
    });
    expectNoSecrets(refused.text, secrets);
    expect(refused.text).not.toContain("nope");
    const row = await db.connection.findUniqueOrThrow({ where: { id: refused.json.connection.id } });
    expect(row.nextRefreshAt).toBeNull();
    const token = await call("POST", `/api/v1/connections/${row.id}/token`, b.key, {});
    expectProblem(token, 409, "needs-reconsent");
  });

  it("each refused file gets its own answer, and nothing is stored", async () => {
    const a = await connected();
    const b = await newOrg();
    const file = await exportVia(a.org, a.connectionId);
    const imp = (body: unknown) => () => importVia(b, body);

    const wrong = await refusedStoringNothing(imp({ file, passphrase: `${PASS}?` }), 422, "validation");
    expect(wrong.json.detail).toBe("The passphrase is wrong or the file was changed.");
    expect(wrong.json.errors).toEqual([{ path: "passphrase", message: expect.any(String) }]);

    const ct = Buffer.from(file.ciphertext, "base64url");
    ct[Math.floor(ct.length / 2)]! ^= 0x01;
    const flipped = await refusedStoringNothing(
      imp({ file: { ...file, ciphertext: ct.toString("base64url") }, passphrase: PASS }),
      422,
      "validation",
    );
    expect(flipped.json.detail).toBe("The passphrase is wrong or the file was changed.");

    const header = await refusedStoringNothing(
      imp({
        file: { ...file, created_at: new Date(Date.parse(file.created_at) + 1000).toISOString() },
        passphrase: PASS,
      }),
      422,
      "validation",
    );
    expect(header.json.detail).toBe("The passphrase is wrong or the file was changed.");

    const { ciphertext: _drop, ...truncated } = file;
    const cut = await refusedStoringNothing(imp({ file: truncated, passphrase: PASS }), 422, "validation");
    expect(cut.json.detail).toBe("The export file is incomplete or damaged: ciphertext is missing.");
    expect(cut.json.errors).toEqual([{ path: "file.ciphertext", message: expect.any(String) }]);
    // the text of a file cut short (what the CLI and the portal read)
    const text = JSON.stringify(file);
    expect(() => readExportFile(text.slice(0, text.length - 40))).toThrow(/not valid JSON/);

    const v2 = await refusedStoringNothing(imp({ file: { ...file, version: 2 }, passphrase: PASS }), 422, "validation");
    expect(v2.json.detail).toBe("This file was made by a newer Consentry (version 2); this one reads version 1.");
    expect(v2.json.errors).toEqual([{ path: "file.version", message: expect.any(String) }]);

    const format = await refusedStoringNothing(
      imp({ file: { ...file, format: "other-export" }, passphrase: PASS }),
      422,
      "validation",
    );
    expect(format.json.detail).toMatch(/not a Consentry connection export/);

    // a file from an installation with a provider this one lacks (sealed as such a file would be)
    const payload = (await openEnvelope(file, PASS)) as TExportPayload;
    const elsewhere = await sealEnvelope({ ...payload, provider: "salesforce" }, PASS);
    const unknown = await refusedStoringNothing(imp({ file: elsewhere, passphrase: PASS }), 422, "validation");
    expect(unknown.json.detail).toBe('This installation has no provider "salesforce".');

    // a host override a consent could never have stored (it would send the app's secret elsewhere)
    const rerouted = await sealEnvelope(
      { ...payload, provider_metadata: { "host.accounts": "https://evil.example" } },
      PASS,
    );
    await refusedStoringNothing(imp({ file: rerouted, passphrase: PASS }), 422, "validation");

    // an organization without an app of that client id
    const c = await newOrg({ app: false });
    const noApp = await refusedStoringNothing(() => importVia(c, { file, passphrase: PASS }), 422, "validation");
    expect(noApp.json.detail).toContain(`client id "${op.clients.post.client_id}"`);
    expect(noApp.json.errors).toEqual([{ path: "oauth_app_id", message: expect.any(String) }]);

    // malformed bodies: each names its fields
    const short = await refusedStoringNothing(imp({ file, passphrase: "short" }), 422, "validation");
    expect(short.json.errors).toEqual([
      { path: "passphrase", message: "The passphrase must be at least 12 characters." },
    ]);
    const noPass = await refusedStoringNothing(imp({ file }), 422, "validation");
    expect(noPass.json.errors.map((e: { path: string }) => e.path)).toEqual(["passphrase"]);
    const migration = await refusedStoringNothing(imp({ provider: GENERIC }), 422, "validation");
    expect(migration.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(
      ["name", "oauth_app_id", "refresh_token"].sort(),
    );
  });

  it("oauth_app_id picks the app when several have the client id; another org's app id is refused", async () => {
    const { db } = getDb();
    const a = await connected();
    const file = await exportVia(a.org, a.connectionId);
    const b = await newOrg();
    const second = await saveOAuthApp({
      db,
      organizationId: b.id,
      input: {
        providerId: GENERIC,
        name: "OP app 2",
        clientId: op.clients.post.client_id,
        clientSecret: op.clients.post.client_secret,
      },
      actor: SYSTEM,
    });
    const ambiguous = await refusedStoringNothing(() => importVia(b, { file, passphrase: PASS }), 422, "validation");
    expect(ambiguous.json.detail).toMatch(/Several OAuth apps/);
    const other = await newOrg();
    await refusedStoringNothing(
      () => importVia(b, { file, passphrase: PASS, oauth_app_id: other.appId }),
      422,
      "validation",
    );
    const ok = await importVia(b, { file, passphrase: PASS, oauth_app_id: second.id });
    expect(ok.status, ok.text).toBe(201);
    expect((await db.connection.findUniqueOrThrow({ where: { id: ok.json.connection.id } })).oauthAppId).toBe(
      second.id,
    );
  });

  it("the file never holds the app's client secret, private key or certificate, nor the installation's key", async () => {
    const { db } = getDb();
    const org = await newOrg({ app: false });
    const clientSecret = canary("client-secret");
    const privateKey = canary("private-key");
    const certificate = `-----BEGIN CERTIFICATE-----${canary("certificate")}`;
    const app = await seedOAuthApp(db, { organizationId: org.id, providerId: GENERIC, clientSecret, privateKey });
    await db.oAuthApp.update({ where: { id: app.id }, data: { certificatePem: certificate } });
    const conn = await seedConnection(db, { organizationId: org.id, oauthAppId: app.id, providerId: GENERIC });
    await db.connection.update({
      where: { id: conn.id },
      data: { settings: JSON.stringify(opSettings()), expiresAt: new Date(Date.now() + 3600_000) },
    });
    const access = canary("access");
    await seedTokenSet(db, { connection: conn, accessToken: access, refreshToken: canary("refresh") });
    const { envelope } = await exportConnection({
      db,
      organizationId: org.id,
      connectionId: conn.id,
      input: { passphrase: PASS },
      actor: SYSTEM,
    });
    const payload = await openEnvelope(envelope, PASS);
    const inside = JSON.stringify(payload);
    expect(inside).toContain(access); // the search finds what is there
    expect(inside).toContain(app.clientId);
    const installationKey = Buffer.alloc(32, 0x11);
    for (const text of [inside, JSON.stringify(envelope)])
      expectNoSecrets(text, [
        clientSecret,
        privateKey,
        certificate.slice(27),
        K1,
        installationKey.toString("base64"),
        installationKey.toString("base64url"),
        installationKey.toString("hex"),
      ]);
    // no field named like a secret but the connection's own tokens
    expect(secretFieldsIn(payload, ["tokens", "refresh_token", "id_token"])).toEqual([]);
    expect(secretFieldsIn(envelope)).toEqual([]);
  });

  it("a migration proves its refresh token at the provider: active with the new tokens", async () => {
    const { db } = getDb();
    const src = await connected();
    const b = await newOrg();
    const before = op.tokenRequests.length;
    const res = await importVia(b, {
      provider: GENERIC,
      name: "Migrated",
      settings: opSettings(),
      oauth_app_id: b.appId,
      access_token: src.accessToken,
      refresh_token: src.refreshToken,
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
      metadata: { source: "legacy-vault" },
    });
    expect(res.status, res.text).toBe(201);
    const sent = op.tokenRequests.slice(before);
    expect(sent.map((r) => r.form?.grant_type)).toEqual(["refresh_token"]);
    expect(sent[0]!.form).toMatchObject({ refresh_token: src.refreshToken, client_id: op.clients.post.client_id });
    expect(res.json.connection).toMatchObject({
      name: "Migrated",
      status: "active",
      metadata: { source: "legacy-vault" },
      last_refreshed_at: expect.any(String),
    });
    expectNoSecrets(res.text, secrets);
    const t = await storedTokens(db, res.json.connection.id);
    expect(t.accessToken).not.toBe(src.accessToken);
    // the rotated refresh token is the one kept: the one sent is spent
    expect(t.refreshToken).not.toBe(src.refreshToken);
    secrets.push(t.accessToken!, t.refreshToken!);
    expect(await refreshConnection({ db, connectionId: res.json.connection.id, reason: "on_demand" })).toEqual({
      result: "refreshed",
    });
    await flushAuditBuffer();
    const imp = await db.auditEvent.findFirstOrThrow({
      where: { targetId: res.json.connection.id, action: "connection.imported" },
    });
    expect(JSON.parse(imp.details)).toMatchObject({ source: "migration", provider: GENERIC, refreshed: true });
  });

  it("a migration whose refresh is refused, or whose provider is unreachable, stores nothing", async () => {
    const b = await newOrg();
    const bogus = canary("bogus-refresh");
    secrets.push(bogus);
    const migration = (over: Record<string, unknown> = {}) => ({
      provider: GENERIC,
      name: "Migrated",
      settings: opSettings(),
      oauth_app_id: b.appId,
      refresh_token: bogus,
      ...over,
    });
    const refused = await refusedStoringNothing(() => importVia(b, migration()), 422, "validation");
    expect(refused.json.detail).toMatch(/refused the refresh token \(invalid_grant\).*Nothing was stored\./);
    expect(refused.json.errors).toEqual([{ path: "refresh_token", message: expect.any(String) }]);

    const port = await closedPort();
    const down = await refusedStoringNothing(
      () => importVia(b, migration({ settings: { ...opSettings(), token_url: `http://127.0.0.1:${port}/token` } })),
      502,
      "refresh-failed",
    );
    expect(down.headers["retry-after"]).toMatch(/^\d+$/);
    expect(down.json.detail).toMatch(/could not be reached.*Nothing was stored/);

    // the OP answers 503: the same
    op.failNext({ status: 503 });
    await refusedStoringNothing(() => importVia(b, migration()), 502, "refresh-failed");

    // a tenant another organization holds: refused before anything is sent
    const { db } = getDb();
    const holder = await newOrg();
    const held = await seedConnection(db, { organizationId: holder.id, providerId: GENERIC });
    await db.connection.update({ where: { id: held.id }, data: { externalTenantId: "tenant-held" } });
    const sentBefore = op.tokenRequests.length;
    const conflict = await refusedStoringNothing(
      () => importVia(b, migration({ tenant_id: "Tenant-Held" })),
      409,
      "conflict",
    );
    expect(conflict.json.detail).toMatch(/already connected to another organization/);
    expect(op.tokenRequests.length).toBe(sentBefore);
  });

  it("another organization's connection → 404; keys without connections:export or connections:write → 403", async () => {
    const { db } = getDb();
    const a = await connected();
    const b = await newOrg();
    const foreign = await call("POST", `/api/v1/connections/${a.connectionId}/export`, b.key, { passphrase: PASS });
    expectProblem(foreign, 404, "not-found");
    const missing = await call("POST", `/api/v1/connections/nope-${a.connectionId}/export`, b.key, {
      passphrase: PASS,
    });
    expect(JSON.parse(foreign.text.replaceAll(a.connectionId, "<id>"))).toEqual(
      JSON.parse(missing.text.replaceAll(`nope-${a.connectionId}`, "<id>")),
    );
    const noExport = await newApiKey(
      db,
      a.org.id,
      ALL_SCOPES.filter((s) => s !== "connections:export"),
    );
    const denied = await call("POST", `/api/v1/connections/${a.connectionId}/export`, noExport, { passphrase: PASS });
    expectProblem(denied, 403, "forbidden");
    expect(denied.json.required_scope).toBe("connections:export");
    const exportOnly = await newApiKey(db, a.org.id, ["connections:export"]);
    const file = await call("POST", `/api/v1/connections/${a.connectionId}/export`, exportOnly, { passphrase: PASS });
    expect(file.status).toBe(200);
    const noWrite = await newApiKey(db, b.id, ["connections:read", "connections:export"]);
    const refused = await call("POST", "/api/v1/connections/import", noWrite, { file: file.json, passphrase: PASS });
    expectProblem(refused, 403, "forbidden");
    expect(refused.json.required_scope).toBe("connections:write");
    // a connection that never got tokens is not exportable
    const pending = await seedConnection(db, { organizationId: a.org.id, providerId: GENERIC });
    await db.connection.update({ where: { id: pending.id }, data: { status: "pending_consent" } });
    const notYet = await call("POST", `/api/v1/connections/${pending.id}/export`, a.org.key, { passphrase: PASS });
    expectProblem(notYet, 409, "needs-reconsent");
    expect(notYet.json.detail).toMatch(/this one is pending_consent and holds no tokens/);
    // GET on the import path is no connection called "import"
    expectProblem(await call("GET", "/api/v1/connections/import", b.key), 404, "not-found");
  });

  it("GET /api/v1/oauth-apps: the organization's own apps and the platform's, never another's, never a secret", async () => {
    const { db } = getDb();
    const a = await newOrg();
    const other = await newOrg();
    const platformSecret = canary("platform-secret");
    const platform = await seedOAuthApp(db, {
      organizationId: null,
      providerId: GENERIC,
      clientSecret: platformSecret,
      privateKey: canary("platform-key"),
    });
    const res = await call("GET", "/api/v1/oauth-apps", a.key);
    expect(res.status, res.text).toBe(200);
    const ids = (res.json.data as Array<{ id: string }>).map((x) => x.id);
    expect(ids).toContain(a.appId);
    expect(ids).toContain(platform.id);
    expect(ids).not.toContain(other.appId);
    expect(res.json.data.find((x: { id: string }) => x.id === a.appId)).toEqual({
      id: a.appId,
      provider: GENERIC,
      name: "OP app",
      client_id: op.clients.post.client_id,
      owner: "organization",
      redirect_uri: callbackUrl(GENERIC),
    });
    expect(res.json.data.find((x: { id: string }) => x.id === platform.id)).toMatchObject({ owner: "platform" });
    expect(secretFieldsIn(res.json)).toEqual([]);
    expectNoSecrets(res.text, [op.clients.post.client_secret, platformSecret]);
    const narrow = await newApiKey(db, a.id, ["tokens:read"]);
    expectProblem(await call("GET", "/api/v1/oauth-apps", narrow), 403, "forbidden");
  });

  it("no secret of the suite is in the audit trail", async () => {
    expectNoSecrets(await auditText(getDb().db), secrets);
  });
});

describeEachDb("connection import: Microsoft's tenant is linked only from a token refreshed here", (getDb) => {
  async function orgWithApp() {
    const { db } = getDb();
    const org = await seedOrg(db);
    const key = await newApiKey(db, org.id);
    const app = await saveOAuthApp({
      db,
      organizationId: org.id,
      input: { providerId: MICROSOFT, name: "MS app", clientId: MS_APP.clientId, clientSecret: MS_APP.clientSecret },
      actor: SYSTEM,
    });
    return { id: org.id, key, appId: app.id };
  }

  /** A Microsoft 365 connection consented in `tid` by its admin, in a new organization. */
  async function consented(tid: string) {
    const { db } = getDb();
    const org = await orgWithApp();
    azure.setNextSignIn({ tid });
    const { connectionId } = await connectViaConsent({
      db,
      organizationId: org.id,
      provider: MICROSOFT,
      app: { client_id: MS_APP.clientId, client_secret: MS_APP.clientSecret },
      authorize: (u) => authorizeAt(u),
    });
    const t = await storedTokens(db, connectionId);
    expect(t.connection.externalTenantId).toBe(tid);
    return { org, connectionId, refreshToken: t.refreshToken! };
  }

  const imp = (org: { key: TestKey }, body: unknown) =>
    api(getDb().db, "POST", "/api/v1/connections/import", { key: org.key.key, body });
  const counts = async () => ({
    connections: await getDb().db.connection.count(),
    tokenSets: await getDb().db.tokenSet.count(),
  });

  it("a file claiming another tenant is refused after the refresh proves the real one; a tenant held elsewhere is refused before any request", async () => {
    const { db } = getDb();
    const a = await consented(TENANTS.contoso);
    const b = await orgWithApp();
    const res = await api(db, "POST", `/api/v1/connections/${a.connectionId}/export`, {
      key: a.org.key.key,
      body: { passphrase: PASS },
    });
    expect(res.status, res.text).toBe(200);
    const file = res.json as TExportEnvelope;
    const payload = (await openEnvelope(file, PASS)) as TExportPayload;
    expect(payload.tenant_id).toBe(TENANTS.contoso);

    // the honest file: Contoso is A's while A's connection lives → 409, and nothing was sent to Microsoft
    let before = await counts();
    let sent = azure.tokenRequests.length;
    const held = await imp(b, { file, passphrase: PASS });
    expectProblem(held, 409, "conflict");
    expect(held.json.detail).toMatch(/already connected to another organization/);
    expect(azure.tokenRequests.length).toBe(sent);
    expect(await counts()).toEqual(before);

    // a crafted file: the same grant, another tenant named → the refreshed token says Contoso → refused
    const crafted = await sealEnvelope({ ...payload, tenant_id: TENANTS.fabrikam }, PASS);
    before = await counts();
    sent = azure.tokenRequests.length;
    const lie = await imp(b, { file: crafted, passphrase: PASS });
    expectProblem(lie, 422, "validation");
    expect(lie.json.detail).toMatch(new RegExp(`belong to tenant ${TENANTS.contoso}, not to ${TENANTS.fabrikam}`));
    expect(azure.tokenRequests.length).toBe(sent + 1);
    expect(await counts()).toEqual(before);

    // A disconnected; that refresh rotated the file's refresh token away: refused → needs_reconsent, no tenant linked
    await db.connection.update({ where: { id: a.connectionId }, data: { status: "revoked" } });
    const late = await imp(b, { file, passphrase: PASS });
    expect(late.status, late.text).toBe(201);
    expect(late.json.connection).toMatchObject({
      status: "needs_reconsent",
      tenant_id: null,
      account: { email: null },
    });
  });

  it("an export whose refresh succeeds links the tenant read from the new access token", async () => {
    const { db } = getDb();
    const a = await consented(TENANTS.woodgrove);
    const file = (
      await api(db, "POST", `/api/v1/connections/${a.connectionId}/export`, {
        key: a.org.key.key,
        body: { passphrase: PASS },
      })
    ).json as TExportEnvelope;
    await db.connection.update({ where: { id: a.connectionId }, data: { status: "revoked" } });
    const b = await orgWithApp();
    const res = await imp(b, { file, passphrase: PASS });
    expect(res.status, res.text).toBe(201);
    expect(res.json.connection).toMatchObject({
      status: "active",
      tenant_id: TENANTS.woodgrove,
      account: { email: "admin@woodgrove.onmicrosoft.com" },
      last_refreshed_at: expect.any(String),
    });
  });

  it("a migration takes the tenant from the refreshed access token, and refuses a tenant_id that differs", async () => {
    const { db } = getDb();
    const src = await consented(TENANTS.fabrikam);
    await db.connection.update({ where: { id: src.connectionId }, data: { status: "revoked" } });
    const b = await orgWithApp();
    const ok = await imp(b, {
      provider: MICROSOFT,
      name: "Fabrikam audit log",
      oauth_app_id: b.appId,
      refresh_token: src.refreshToken,
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json.connection).toMatchObject({
      status: "active",
      tenant_id: TENANTS.fabrikam,
      account: { email: "admin@fabrikam.onmicrosoft.com" },
    });
    expectNoSecrets(ok.text, [src.refreshToken]);

    const other = await consented(TENANTS.northwind);
    await db.connection.update({ where: { id: other.connectionId }, data: { status: "revoked" } });
    const before = await counts();
    const wrong = await imp(b, {
      provider: MICROSOFT,
      name: "Northwind",
      oauth_app_id: b.appId,
      refresh_token: other.refreshToken,
      tenant_id: TENANTS.contoso,
    });
    expectProblem(wrong, 422, "validation");
    expect(wrong.json.errors).toEqual([{ path: "tenant_id", message: expect.any(String) }]);
    expect(await counts()).toEqual(before);
  });
});
