// Consent links that are no longer open: expired (as stored, or by the clock moving past the TTL),
// revoked by the organization, closed by disconnecting the connection, or used. Each is refused by
// the public page (app/consent/[token]/page.tsx: "This consent link does not work"), by its start route
// (303 back to the page) and by startConsent (404 errors.linkNotOpen), starts nothing at the provider
// and leaves the connection as it was. A link that closes while its flow is at the provider is refused
// at the callback before any code is exchanged. A new link does not close an older one.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import {
  actor,
  authorizeAt,
  callbackFor,
  deliverCallback,
  expectFailure,
  expectLoopbackAllowance,
  expectNothingStored,
  expectSuccess,
  newBrowser,
  newConnection,
  newOrg,
} from "../helpers/consent";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { K1 } from "../helpers/keyring";
import { createGenericAs, type GenericAs } from "../fixtures/generic-as";
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { createConsentLink, revokeConsentLink } from "@/lib/connections/create-consent-link";
import { disconnectConnection } from "@/lib/connections/disconnect-connection";
import { findOpenConsentLink, startConsent } from "@/lib/consent/start-consent";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

// The page's translator outside Next: the English catalogue through use-intl (what next-intl wraps).
vi.mock("next-intl/server", async () => {
  const { createFormatter, createTranslator } = await import("use-intl");
  const messages = (await import("@/lib/i18n/messages/en.json")).default;
  return {
    getTranslations: async (namespace?: string) =>
      createTranslator({ locale: "en", messages, namespace: namespace as never }),
    getFormatter: async () => createFormatter({ locale: "en", timeZone: "UTC" }),
  };
});

const PROVIDER = "generic-oauth2";
let as: GenericAs;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  as = await createGenericAs({ redirectUris: [callbackFor(PROVIDER)] });
});
afterAll(async () => as?.close());
beforeEach(() => as.resetRecording());

type G = { __consentryDb?: { $disconnect(): Promise<void> } };
async function dropGlobalDb() {
  const g = globalThis as unknown as G;
  await g.__consentryDb?.$disconnect();
  delete g.__consentryDb;
}
afterEach(async () => {
  vi.useRealTimers();
  await dropGlobalDb();
  vi.unstubAllEnvs();
});

/** The public page and its start route as the app loads them, on this test database (their db() is process-wide). */
async function loadPublicConsent(t: TestDatabase) {
  await dropGlobalDb();
  vi.resetModules();
  vi.stubEnv("DATABASE_URL", t.url);
  vi.stubEnv("CONSENTRY_ENCRYPTION_KEYS", K1);
  vi.stubEnv("CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS", "true");
  const page = await import("@/app/consent/[token]/page");
  const start = await import("@/app/consent/[token]/start/route");
  return {
    render: async (token: string) => renderToStaticMarkup(await page.default({ params: Promise.resolve({ token }) })),
    start: (token: string) =>
      start.POST(new Request(`${env().publicUrl}/consent/${token}/start`, { method: "POST" }), {
        params: Promise.resolve({ token }),
      }),
  };
}

type Link = { organizationId: string; connectionId: string; id: string; token: string };

/** A generic connection waiting for consent, and a consent link for it. */
async function openLink(db: Db): Promise<Link> {
  const org = await newOrg(db, "Links");
  const c = await newConnection(db, org.id, {
    provider: PROVIDER,
    settings: { authorization_url: as.authorizationUrl, token_url: as.tokenUrl },
    scopes: ["api:read"],
    oauth_app: as.client,
  });
  return { organizationId: org.id, connectionId: c.id, ...(await anotherLink(db, org.id, c.id)) };
}

async function anotherLink(db: Db, organizationId: string, connectionId: string) {
  const link = await createConsentLink({ db, organizationId, connectionId, actor });
  const token = new URL(link.url).pathname.split("/").pop()!;
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return { id: link.id, token };
}

const start = (db: Db, link: Pick<Link, "id" | "organizationId">, browserSecret = newBrowser()) =>
  startConsent({
    db,
    consentRequestId: link.id,
    organizationId: link.organizationId,
    browserSecret,
    actor: { type: "anonymous" },
  });

/** Everything a refused link must leave as it was: the connection, its tokens and its consent requests. */
async function snapshot(db: Db, connectionId: string) {
  const [connection, tokenSet, requests, started] = await Promise.all([
    db.connection.findUniqueOrThrow({ where: { id: connectionId } }),
    db.tokenSet.findUnique({ where: { connectionId } }),
    db.consentRequest.findMany({ where: { connectionId }, orderBy: { id: "asc" } }),
    db.auditEvent.count({ where: { targetId: connectionId, action: "consent.started" } }),
  ]);
  return { connection, tokenSet, requests, started };
}

/** Refused everywhere a tenant admin can open it; nothing sent to the provider, nothing written. */
async function expectClosed(t: TestDatabase, link: Link) {
  const before = await snapshot(t.db, link.connectionId);
  const seen = as.requests.length;

  expect(await findOpenConsentLink({ db: t.db, token: link.token })).toBeNull();
  const err = await start(t.db, link).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect(err).toMatchObject({ code: "not-found", status: 404, i18n: { key: "errors.linkNotOpen" } });

  const app = await loadPublicConsent(t);
  const html = await app.render(link.token);
  expect(html).toContain("This consent link does not work");
  expect(html).toContain("It may have expired, been used already or been revoked.");
  expect(html).not.toContain(`/consent/${link.token}/start`); // no "Continue" form
  const res = await app.start(link.token);
  expect(res.status).toBe(303);
  expect(res.headers.get("location")).toBe(`${env().publicUrl}/consent/${link.token}`);
  expect(res.headers.get("set-cookie")).toBeNull();

  expect(as.requests.length).toBe(seen);
  expect(await snapshot(t.db, link.connectionId)).toEqual(before);
}

describeEachDb("consent links that are no longer open", (getDb) => {
  it("an open link (the control): the page offers Continue, and startConsent builds the provider's authorization URL", async () => {
    const t = getDb();
    const link = await openLink(t.db);
    expect(await findOpenConsentLink({ db: t.db, token: link.token })).toMatchObject({ id: link.id });
    const html = await (await loadPublicConsent(t)).render(link.token);
    expect(html).toContain(`action="/consent/${link.token}/start"`);
    expect(html).not.toContain("This consent link does not work");
    const { authorizationUrl } = await start(t.db, link);
    expect(authorizationUrl.startsWith(`${as.authorizationUrl}?`)).toBe(true);
  });

  it("expired as stored (expiresAt in the past): refused, nothing started, connection untouched", async () => {
    const t = getDb();
    const link = await openLink(t.db);
    await t.db.consentRequest.update({ where: { id: link.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expectClosed(t, link);
    await expectNothingStored(t.db, link.connectionId);
  });

  it("expired by time passing: open one second before the TTL ends, refused one second after", async () => {
    const t = getDb();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const link = await openLink(t.db);
    const ttl = env().consentLinkTtlHours * 3600_000;
    vi.setSystemTime(Date.now() + ttl - 1000);
    expect(await findOpenConsentLink({ db: t.db, token: link.token })).toMatchObject({ id: link.id });
    vi.setSystemTime(Date.now() + 2000);
    await expectClosed(t, link);
    await expectNothingStored(t.db, link.connectionId);
  });

  it("revoked by the organization: refused, nothing started; revoking it again is not found", async () => {
    const t = getDb();
    const link = await openLink(t.db);
    await revokeConsentLink({ db: t.db, organizationId: link.organizationId, consentRequestId: link.id, actor });
    expect((await t.db.consentRequest.findUniqueOrThrow({ where: { id: link.id } })).revokedAt).not.toBeNull();
    await expectClosed(t, link);
    await expectNothingStored(t.db, link.connectionId);
    await expect(
      revokeConsentLink({ db: t.db, organizationId: link.organizationId, consentRequestId: link.id, actor }),
    ).rejects.toMatchObject({ code: "not-found", i18n: { key: "errors.linkNotOpen" } });
    const audit = await t.db.auditEvent.findMany({ where: { targetId: link.id, action: "consent_link.revoked" } });
    expect(audit).toHaveLength(1);
  });

  it("another organization cannot revoke the link, and the link stays open", async () => {
    const t = getDb();
    const link = await openLink(t.db);
    const other = await newOrg(t.db, "Other");
    await expect(
      revokeConsentLink({ db: t.db, organizationId: other.id, consentRequestId: link.id, actor }),
    ).rejects.toMatchObject({ code: "not-found" });
    expect(await findOpenConsentLink({ db: t.db, token: link.token })).toMatchObject({ id: link.id });
  });

  it("closed by disconnecting the connection: every open link of it is revoked and refused", async () => {
    const t = getDb();
    const link = await openLink(t.db);
    const second = { ...link, ...(await anotherLink(t.db, link.organizationId, link.connectionId)) };
    await disconnectConnection({
      db: t.db,
      organizationId: link.organizationId,
      connectionId: link.connectionId,
      actor,
    });
    for (const l of [link, second]) {
      expect((await t.db.consentRequest.findUniqueOrThrow({ where: { id: l.id } })).revokedAt).not.toBeNull();
      await expectClosed(t, l);
    }
    expect(await t.db.tokenSet.count({ where: { connectionId: link.connectionId } })).toBe(0);
  });

  it("used: after a completed consent the link cannot start again and its callback cannot be replayed; the connection keeps its tokens", async () => {
    const t = getDb();
    const link = await openLink(t.db);
    const browser = newBrowser();
    const { authorizationUrl } = await start(t.db, link, browser);
    const callback = await authorizeAt(authorizationUrl);
    expectSuccess(await deliverCallback(t.db, callback, browser));
    expect((await t.db.consentRequest.findUniqueOrThrow({ where: { id: link.id } })).usedAt).not.toBeNull();
    const tokens = await t.db.tokenSet.findUniqueOrThrow({ where: { connectionId: link.connectionId } });
    as.resetRecording();

    await expectClosed(t, link);
    const replay = await deliverCallback(t.db, callback, browser);
    expectFailure(replay, "state_invalid");
    expect(as.tokenRequests).toHaveLength(0);
    expect(await t.db.tokenSet.findUniqueOrThrow({ where: { connectionId: link.connectionId } })).toEqual(tokens);
    expect((await t.db.connection.findUniqueOrThrow({ where: { id: link.connectionId } })).status).toBe("active");
  });

  it("a failed attempt (the admin declined at the provider) does not use the link up", async () => {
    const t = getDb();
    const link = await openLink(t.db);
    const browser = newBrowser();
    const { authorizationUrl } = await start(t.db, link, browser);
    const declined = new URL(callbackFor(PROVIDER));
    declined.searchParams.set("state", new URL(authorizationUrl).searchParams.get("state")!);
    declined.searchParams.set("error", "access_denied");
    expectFailure(await deliverCallback(t.db, declined, browser), "provider_error");
    expect(await findOpenConsentLink({ db: t.db, token: link.token })).toMatchObject({ id: link.id, usedAt: null });
    const again = newBrowser();
    const retry = await start(t.db, link, again);
    expectSuccess(await deliverCallback(t.db, await authorizeAt(retry.authorizationUrl), again));
  });

  it("closed while the flow is at the provider (expired, revoked): the callback is refused as link_closed before any token request; the connection is untouched", async () => {
    const t = getDb();
    const close = {
      expired: (l: Link) =>
        t.db.consentRequest.update({ where: { id: l.id }, data: { expiresAt: new Date(Date.now() - 1000) } }),
      revoked: (l: Link) =>
        revokeConsentLink({ db: t.db, organizationId: l.organizationId, consentRequestId: l.id, actor }),
    };
    for (const [how, closeIt] of Object.entries(close)) {
      const link = await openLink(t.db);
      const browser = newBrowser();
      const { authorizationUrl } = await start(t.db, link, browser);
      const callback = await authorizeAt(authorizationUrl);
      expect(callback.searchParams.get("code"), how).toBeTruthy();
      await closeIt(link);
      const before = await snapshot(t.db, link.connectionId);
      as.resetRecording();

      const outcome = await deliverCallback(t.db, callback, browser);
      expectFailure(outcome, "link_closed");
      expect(as.tokenRequests, how).toHaveLength(0);
      const after = await snapshot(t.db, link.connectionId);
      // only the flow's state was consumed: the connection and its tokens are as they were
      expect(after.connection, how).toEqual(before.connection);
      expect(after.tokenSet, how).toEqual(before.tokenSet);
      await expectNothingStored(t.db, link.connectionId);
      const failed = await t.db.auditEvent.findMany({
        where: { targetId: link.connectionId, action: "consent.failed" },
      });
      expect(failed.map((a) => JSON.parse(a.details) as Record<string, unknown>)).toEqual([
        expect.objectContaining({ reason: "link_closed" }),
      ]);
      // the state is spent: the same callback again is unknown
      expectFailure(await deliverCallback(t.db, callback, browser), "state_invalid");
    }
  });

  it("disconnected while the flow is at the provider: the callback is refused before any token request and nothing is stored", async () => {
    const t = getDb();
    const link = await openLink(t.db);
    const browser = newBrowser();
    const { authorizationUrl } = await start(t.db, link, browser);
    const callback = await authorizeAt(authorizationUrl);
    await disconnectConnection({
      db: t.db,
      organizationId: link.organizationId,
      connectionId: link.connectionId,
      actor,
    });
    const before = await snapshot(t.db, link.connectionId);
    as.resetRecording();
    // disconnect closes the request but keeps the flow's state: the callback is told the link closed
    expectFailure(await deliverCallback(t.db, callback, browser), "link_closed");
    expect(as.tokenRequests).toHaveLength(0);
    const after = await snapshot(t.db, link.connectionId);
    expect(after.connection).toEqual(before.connection);
    expect(after.tokenSet).toBeNull();
    expect(after.connection.status).toBe("revoked");
  });

  it("a new link does not close an older one: both stay open until each is used, revoked or expires", async () => {
    const t = getDb();
    const first = await openLink(t.db);
    const second = { ...first, ...(await anotherLink(t.db, first.organizationId, first.connectionId)) };
    expect(await findOpenConsentLink({ db: t.db, token: first.token })).toMatchObject({ id: first.id });
    expect(await findOpenConsentLink({ db: t.db, token: second.token })).toMatchObject({ id: second.id });
    // consenting through the newer one closes only that one
    const browser = newBrowser();
    const { authorizationUrl } = await start(t.db, second, browser);
    expectSuccess(await deliverCallback(t.db, await authorizeAt(authorizationUrl), browser));
    expect(await findOpenConsentLink({ db: t.db, token: second.token })).toBeNull();
    expect(await findOpenConsentLink({ db: t.db, token: first.token })).toMatchObject({ id: first.id });
  });
});
