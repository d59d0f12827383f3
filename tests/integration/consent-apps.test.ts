// OAuth apps (write-only secrets, platform vs organization-owned) and organization isolation of the
// consent flow: one organization's flow, link or paste never reads or writes another's rows.
// Flows run against the Webex emulator (the lightest complete provider).
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import {
  actor,
  auditActions,
  authorizeAt,
  callbackFor,
  deliverCallback,
  expectFailure,
  expectLoopbackAllowance,
  expectSuccess,
  newConnection,
  newOrg,
  runFlow,
  startFlow,
  storedTokens,
} from "../helpers/consent";
import { describeEachDb, dumpAllRows } from "../helpers/db";
import { canary } from "../helpers/factories";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import type { Db } from "@/lib/db/client";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { getOAuthApp } from "@/lib/oauth-apps/get-oauth-app";
import { getAppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { listOAuthApps } from "@/lib/oauth-apps/list-oauth-apps";
import { startConsent } from "@/lib/consent/start-consent";
import { completeConsentFromPaste } from "@/lib/consent/complete-consent";
import { createConsentLink } from "@/lib/connections/create-consent-link";
import { testConnection } from "@/lib/connections/test-connection";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

const CLIENT_ID = "C-apps-webex-integration";
const SECRET = canary("webex-client-secret");
let webex: WebexEmulator;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  webex = await createWebexEmulator({
    integrations: [{ clientId: CLIENT_ID, clientSecret: SECRET, redirectUris: [callbackFor("webex")] }],
  });
  setProviderHostOverridesForTests({ "https://webexapis.com": webex.url });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await webex?.close();
});

/** Every row that belongs to an organization, as comparable JSON. */
async function orgSnapshot(db: Db, organizationId: string) {
  const where = { organizationId };
  const [connections, tokenSets, consentRequests, oauthApps, auditEvents] = await Promise.all([
    db.connection.findMany({ where, orderBy: { id: "asc" } }),
    db.tokenSet.findMany({ where, orderBy: { id: "asc" } }),
    db.consentRequest.findMany({ where, orderBy: { id: "asc" } }),
    db.oAuthApp.findMany({ where, orderBy: { id: "asc" } }),
    db.auditEvent.findMany({ where, orderBy: { id: "asc" } }),
  ]);
  return JSON.stringify({ connections, tokenSets, consentRequests, oauthApps, auditEvents });
}

describeEachDb("OAuth apps and organization isolation", (getDb) => {
  it("client secrets are write-only: reported as set, never returned, kept when the form is blank, decrypted only for the token endpoint", async () => {
    const { db } = getDb();
    const org = await newOrg(db);
    const { id } = await saveOAuthApp({
      db,
      organizationId: org.id,
      input: { providerId: "webex", name: "Our Webex app", clientId: CLIENT_ID, clientSecret: SECRET },
      actor,
    });
    const row = await db.oAuthApp.findUniqueOrThrow({ where: { id } });
    expect(row.clientSecretEnc).toMatch(/^enc1\./);
    expect(row.clientSecretEnc).not.toContain(SECRET);

    const shown = await getOAuthApp({ db, appId: id, organizationId: org.id });
    expect(shown).toMatchObject({ id, clientId: CLIENT_ID, clientSecretSet: true, privateKeySet: false });
    expect(JSON.stringify(shown)).not.toContain(SECRET);
    expect(JSON.stringify(shown)).not.toContain(row.clientSecretEnc!);
    const listed = await listOAuthApps({ db, organizationId: org.id });
    expect(listed).toEqual([expect.objectContaining({ id, ownership: "custom", clientSecretSet: true })]);
    expect(JSON.stringify(listed)).not.toContain(SECRET);
    expect(JSON.stringify(listed)).not.toContain("enc1.");

    // an edit with the secret field left blank (or absent) keeps the stored secret
    for (const clientSecret of ["", "   ", undefined]) {
      await saveOAuthApp({
        db,
        organizationId: org.id,
        appId: id,
        input: { providerId: "webex", name: "Renamed", clientId: CLIENT_ID, clientSecret },
        actor,
      });
      expect((await db.oAuthApp.findUniqueOrThrow({ where: { id } })).clientSecretEnc).toBe(row.clientSecretEnc);
    }
    expect((await getAppCredentials({ db, appId: id, organizationId: org.id })).clientSecret).toBe(SECRET);
    expect((await getOAuthApp({ db, appId: id, organizationId: org.id }))?.name).toBe("Renamed");

    // a new secret replaces it; "remove" clears it
    await saveOAuthApp({
      db,
      organizationId: org.id,
      appId: id,
      input: { providerId: "webex", name: "Renamed", clientId: CLIENT_ID, clientSecret: "rotated-secret" },
      actor,
    });
    expect((await getAppCredentials({ db, appId: id, organizationId: org.id })).clientSecret).toBe("rotated-secret");
    await saveOAuthApp({
      db,
      organizationId: org.id,
      appId: id,
      input: { providerId: "webex", name: "Renamed", clientId: CLIENT_ID, removeSecret: true },
      actor,
    });
    expect(await getOAuthApp({ db, appId: id, organizationId: org.id })).toMatchObject({ clientSecretSet: false });
    // the audit trail says a secret changed, never what it is
    const audit = await auditActions(db, { organizationId: org.id });
    expect(audit.map((a) => a.action).sort()).toEqual(["oauth_app.created", ...Array(5).fill("oauth_app.updated")]);
    expect(JSON.stringify(audit)).not.toMatch(new RegExp(`${SECRET}|rotated-secret`));
  });

  it("a platform app is usable by every organization; an organization's own app only by that organization", async () => {
    const { db } = getDb();
    const a = await newOrg(db, "A");
    const b = await newOrg(db, "B");
    const platform = await saveOAuthApp({
      db,
      organizationId: null,
      input: { providerId: "webex", name: "Platform Webex", clientId: CLIENT_ID, clientSecret: SECRET },
      actor,
    });
    const custom = await saveOAuthApp({
      db,
      organizationId: a.id,
      input: { providerId: "webex", name: "A's own", clientId: CLIENT_ID, clientSecret: SECRET },
      actor,
    });

    for (const org of [a, b]) {
      const c = await newConnection(db, org.id, { provider: "webex", oauth_app_id: platform.id });
      expect(c.oauthAppId).toBe(platform.id);
      expect((await listOAuthApps({ db, organizationId: org.id })).map((x) => [x.id, x.ownership])).toContainEqual([
        platform.id,
        "embedded",
      ]);
    }
    expect((await newConnection(db, a.id, { provider: "webex", oauth_app_id: custom.id })).oauthAppId).toBe(custom.id);

    // B cannot use, see or decrypt A's app
    await expect(newConnection(db, b.id, { provider: "webex", oauth_app_id: custom.id })).rejects.toMatchObject({
      code: "validation",
      errors: [expect.objectContaining({ path: "oauth_app_id" })],
    });
    expect((await listOAuthApps({ db, organizationId: b.id })).map((x) => x.id)).not.toContain(custom.id);
    expect(await getOAuthApp({ db, appId: custom.id, organizationId: b.id })).toBeNull();
    await expect(getAppCredentials({ db, appId: custom.id, organizationId: b.id })).rejects.toMatchObject({
      code: "not-found",
    });
    await expect(
      saveOAuthApp({
        db,
        organizationId: b.id,
        appId: custom.id,
        input: { providerId: "webex", name: "hijack", clientId: "evil", clientSecret: "evil" },
        actor,
      }),
    ).rejects.toMatchObject({ code: "not-found" });
    expect((await db.oAuthApp.findUniqueOrThrow({ where: { id: custom.id } })).clientId).toBe(CLIENT_ID);
    // an app of another provider is no app for this one
    await expect(
      newConnection(db, a.id, {
        provider: "backlog",
        settings: { space: "acme.backlog.com" },
        oauth_app_id: platform.id,
      }),
    ).rejects.toMatchObject({ code: "validation" });
    expect(await db.connection.count({ where: { organizationId: b.id, oauthAppId: custom.id } })).toBe(0);

    // the platform app completes a real flow for B
    const cb = await newConnection(db, b.id, { provider: "webex", oauth_app_id: platform.id });
    expectSuccess((await runFlow(db, b.id, cb.id)).outcome);
  });

  it("a flow of organization A never touches organization B's rows; B cannot start, link, test or paste into A's flow", async () => {
    const { db } = getDb();
    const a = await newOrg(db, "A");
    const b = await newOrg(db, "B");
    const ca = await newConnection(db, a.id, {
      provider: "webex",
      oauth_app: { client_id: CLIENT_ID, client_secret: SECRET },
    });
    const cb = await newConnection(db, b.id, {
      provider: "webex",
      oauth_app: { client_id: CLIENT_ID, client_secret: SECRET },
    });
    // B has an open flow and an active connection of its own
    const bFlow = await startFlow(db, b.id, cb.id);
    const cbActive = await newConnection(db, b.id, {
      provider: "webex",
      oauth_app: { client_id: CLIENT_ID, client_secret: SECRET },
    });
    expectSuccess((await runFlow(db, b.id, cbActive.id)).outcome);
    const before = await orgSnapshot(db, b.id);

    const aLink = await createConsentLink({ db, organizationId: a.id, connectionId: ca.id, actor });
    // B's organization id with A's consent request: not found, and A's request is not touched
    await expect(
      startConsent({ db, consentRequestId: aLink.id, organizationId: b.id, browserSecret: "b-browser", actor }),
    ).rejects.toMatchObject({ code: "not-found" });
    expect((await db.consentRequest.findUniqueOrThrow({ where: { id: aLink.id } })).stateHash).toBeNull();
    await expect(createConsentLink({ db, organizationId: b.id, connectionId: ca.id, actor })).rejects.toMatchObject({
      code: "not-found",
    });
    await expect(testConnection({ db, organizationId: b.id, connectionId: ca.id, actor })).rejects.toMatchObject({
      code: "not-found",
    });

    // A's flow, start to finish
    const aBrowser = "a-browser-secret-value";
    const { authorizationUrl } = await startConsent({
      db,
      consentRequestId: aLink.id,
      organizationId: a.id,
      browserSecret: aBrowser,
      actor,
    });
    const callback = await authorizeAt(authorizationUrl);
    // pasted into B's connection by B (even with A's browser): refused, nothing consumed
    expectFailure(
      await completeConsentFromPaste({
        db,
        organizationId: b.id,
        connectionId: ca.id,
        pasted: callback.toString(),
        browserSecret: aBrowser,
      }),
      "paste_invalid",
    );
    expectFailure(
      await completeConsentFromPaste({
        db,
        organizationId: b.id,
        connectionId: cb.id,
        pasted: callback.toString(),
        browserSecret: aBrowser,
      }),
      "state_invalid",
    );
    // …which burnt A's state (single use), so A starts over
    const retry = await startConsent({
      db,
      consentRequestId: aLink.id,
      organizationId: a.id,
      browserSecret: aBrowser,
      actor,
    });
    const outcome = await deliverCallback(db, await authorizeAt(retry.authorizationUrl), aBrowser);
    expectSuccess(outcome);
    if (outcome.ok) expect(outcome.connectionId).toBe(ca.id);
    expect((await db.connection.findUniqueOrThrow({ where: { id: ca.id } })).status).toBe("active");
    expect(await storedTokens(db, a.id, ca.id)).not.toBeNull();

    // B is exactly as it was, its open flow included
    expect(await orgSnapshot(db, b.id)).toBe(before);
    const stillOpen = await deliverCallback(db, await authorizeAt(bFlow.authorizationUrl), bFlow.browserSecret);
    expectSuccess(stillOpen);
    if (stillOpen.ok) expect(stillOpen.connectionId).toBe(cb.id);
  });

  it("canary scan: the client secret and the flows' tokens and codes appear in no table", async () => {
    const t = getDb();
    const org = await newOrg(t.db);
    const c = await newConnection(t.db, org.id, {
      provider: "webex",
      oauth_app: { client_id: CLIENT_ID, client_secret: SECRET },
    });
    const flow = await runFlow(t.db, org.id, c.id);
    expectSuccess(flow.outcome);
    const tokens = await storedTokens(t.db, org.id, c.id);
    const dump = await dumpAllRows(t);
    expect(dump.text).toContain(CLIENT_ID);
    for (const [label, value] of Object.entries({
      secret: SECRET,
      rotated: "rotated-secret",
      access: tokens!.accessToken,
      refresh: tokens!.refreshToken!,
      code: flow.callback.searchParams.get("code")!,
      state: flow.callback.searchParams.get("state")!,
    })) {
      expect(dump.text.includes(value), `${label} stored in plaintext`).toBe(false);
    }
  });
});
