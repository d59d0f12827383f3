// Refresh failures against the Azure AD emulator (seed 000's v1 endpoints), each with the state it must
// leave behind: timeouts, trickling bodies, 5xx, 429 + Retry-After, non-JSON, invalid_grant and the
// AADSTS codes (SECURITY.md Azure 15), responses without refresh_token and with odd expires_in
// (Refresh 18, Malformed 24/25) — and the previous token is served while it is still valid.
import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});
// The token client's total timeout (15 s) shortened for this file, so a hanging or trickling AS costs
// about a second: the real egressFetch still enforces it.
const egressCap = vi.hoisted(() => ({ timeoutMs: 1000 }));
vi.mock("@/lib/oauth/egress", async (importOriginal) => {
  const real = await importOriginal<typeof import("@/lib/oauth/egress")>();
  return {
    ...real,
    egressFetch: (url: string, init: Parameters<typeof real.egressFetch>[1]) =>
      real.egressFetch(url, { ...init, timeoutMs: Math.min(init.timeoutMs ?? 15_000, egressCap.timeoutMs) }),
  };
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { AppError } from "@/lib/errors";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { MAX_QUICK_ATTEMPTS } from "@/lib/tokens/next-refresh-at";
import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { WEBHOOK_EVENTS } from "@/lib/webhooks/events";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { faults, followAuthorize, type TokenFault } from "../fixtures/http-emulator";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { SYSTEM, connectViaConsent, readConnection, storedTokens } from "../helpers/lifecycle";

const PROVIDER = "microsoft-365-management";
const TENANT = {
  tid: "41463f53-8812-40f4-890f-865bf6e35190",
  name: "Contoso, Inc.",
  adminUpn: "admin@contoso.onmicrosoft.com",
  adminName: "John Doe",
};
const APP = {
  clientId: "2d4d11a2-f814-46a7-890a-274a72a7309e",
  clientSecret: `s3cr3t~${crypto.randomBytes(8).toString("hex")}`,
};
/** the emulator's access-token lifetime: distinct from the catalogue's default (3599) so the two can be told apart */
const LIFETIME = 1800;
const DEFAULT_LIFETIME = 3599;

let emu: AzureAdEmulator;

beforeAll(async () => {
  emu = await createAzureAdEmulator({
    tenants: [TENANT],
    apps: [{ ...APP, redirectUris: [callbackUrl(PROVIDER)] }],
    defaultSignIn: { tid: TENANT.tid, decision: "approve" },
    accessTokenLifetimeSec: LIFETIME,
  });
  setProviderHostOverridesForTests({ "https://login.windows.net": emu.url, "https://manage.office.com": emu.url });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await emu?.close();
});

const expectAppError = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
};

describeEachDb("refresh failures against the Azure AD emulator", (getDb) => {
  // One organization per database: a tenant may be linked to one organization only.
  let organizationId: string;
  beforeAll(async () => {
    const { db } = getDb();
    organizationId = (await seedOrg(db)).id;
    // subscribed to everything, never delivered here: the queued rows show which events were emitted
    await createWebhookEndpoint({
      db,
      organizationId,
      actor: SYSTEM,
      input: { url: "http://127.0.0.1:9/hook", events: [...WEBHOOK_EVENTS] },
    });
  });

  const connect = async (t: TestDatabase) => {
    const { connectionId, oauthAppId } = await connectViaConsent({
      db: t.db,
      organizationId,
      provider: PROVIDER,
      app: { client_id: APP.clientId, client_secret: APP.clientSecret },
      authorize: (url) => followAuthorize(url, { origins: [emu.url] }),
    });
    return { connectionId, oauthAppId, before: await storedTokens(t.db, connectionId) };
  };
  const refresh = (t: TestDatabase, connectionId: string) =>
    refreshConnection({ db: t.db, connectionId, reason: "on_demand" });
  const eventsOf = async (t: TestDatabase, connectionId: string) =>
    (await t.db.webhookDelivery.findMany({ where: { organizationId }, orderBy: { createdAt: "asc" } }))
      .filter(
        (d) => (JSON.parse(d.payload) as { data: { connection: { id: string } } }).data.connection.id === connectionId,
      )
      .map((d) => d.eventType);
  /** the tokens are exactly what they were: a failed refresh destroyed nothing */
  const expectUnchanged = async (
    t: TestDatabase,
    connectionId: string,
    before: Awaited<ReturnType<typeof storedTokens>>,
  ) => {
    const now = await storedTokens(t.db, connectionId);
    expect(now.accessToken).toBe(before.accessToken);
    expect(now.refreshToken).toBe(before.refreshToken);
    expect(now.version).toBe(before.version);
    expect(now.connection.expiresAt).toEqual(before.connection.expiresAt);
    return now;
  };

  type Case = {
    name: string;
    fault: () => TokenFault;
    failureClass: string;
    errorCode: string;
    retryAfter?: number;
    slow?: boolean;
  };
  const RETRYABLE: Case[] = [
    {
      name: "timeout (the AS never answers)",
      fault: faults.hang,
      failureClass: "retryable",
      errorCode: "timeout",
      slow: true,
    },
    {
      name: "trickling body (one byte every 100 ms, forever)",
      fault: () => faults.trickle(100),
      failureClass: "retryable",
      errorCode: "timeout",
      slow: true,
    },
    {
      name: "HTTP 500 with Azure's error body (AADSTS90033)",
      fault: () => faults.serverError(500),
      failureClass: "retryable",
      errorCode: "temporarily_unavailable",
    },
    {
      name: "HTTP 503 with an HTML page",
      fault: () => faults.html(503),
      failureClass: "retryable",
      errorCode: "http_503",
    },
    {
      name: "HTTP 429 with Retry-After: 120 (AADSTS50196)",
      fault: () => faults.rateLimited(120),
      failureClass: "retryable",
      errorCode: "temporarily_unavailable",
      retryAfter: 120,
    },
    { name: "connection reset", fault: faults.reset, failureClass: "retryable", errorCode: "network" },
    {
      name: "HTTP 200 with an HTML body (non-JSON)",
      fault: () => faults.html(200),
      failureClass: "invalid_response",
      errorCode: "invalid_response",
    },
    {
      name: "HTTP 200 form-encoded (non-JSON)",
      fault: faults.nonJson,
      failureClass: "invalid_response",
      errorCode: "invalid_response",
    },
  ];

  for (const c of RETRYABLE) {
    it(`${c.name}: backoff${c.retryAfter ? " honouring Retry-After" : ""}, tokens untouched, the valid token still served, refresh-failed once expired`, async () => {
      const t = getDb();
      const { connectionId, before } = await connect(t);
      emu.failNext(c.fault());
      const outcome = await refresh(t, connectionId);
      expect(outcome).toEqual({
        result: "failed",
        failureClass: c.failureClass,
        errorCode: c.errorCode,
        retryAfterSeconds: c.retryAfter,
      });

      const after = await expectUnchanged(t, connectionId, before);
      expect(after.connection).toMatchObject({
        status: "active",
        refreshAttempts: 1,
        lastErrorCode: c.errorCode,
        leaseOwner: null,
      });
      const wait = after.connection.nextRefreshAt!.getTime() - after.connection.lastErrorAt!.getTime();
      if (c.retryAfter) expect(wait).toBe(c.retryAfter * 1000);
      else {
        // attempt 1: 30 s with full jitter, 15–30 s
        expect(wait).toBeGreaterThanOrEqual(15_000);
        expect(wait).toBeLessThanOrEqual(30_000);
      }

      // a caller that needs a fresher token than the one stored: the refresh fails again, the still-valid token is served
      // (slow faults are followed by quick ones: each timeout costs a second)
      const again: Case = c.slow
        ? { name: "reset", fault: faults.reset, failureClass: "retryable", errorCode: "network" }
        : c;
      emu.failNext(again.fault());
      const calls = emu.counters.tokenCalls;
      const served = await getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 10 * LIFETIME });
      expect(emu.counters.tokenCalls).toBe(calls + 1);
      expect(served.accessToken).toBe(before.accessToken);
      expect(served).toMatchObject({ minValidityMet: false, reason: "provider_unavailable" });
      expect((await readConnection(t.db, connectionId)).refreshAttempts).toBe(2);

      // once the stored token has expired, the caller gets refresh-failed with Retry-After
      await t.db.connection.update({ where: { id: connectionId }, data: { expiresAt: new Date(Date.now() - 1000) } });
      emu.failNext(again.fault());
      const err = await expectAppError(getFreshToken({ db: t.db, organizationId, connectionId }));
      expect(err).toMatchObject({
        code: "refresh-failed",
        status: 502,
        retryAfter: again.retryAfter ?? 30,
        extra: { reason: again.failureClass, error_code: again.errorCode },
      });
      expect((await readConnection(t.db, connectionId)).status).toBe("active");
    });
  }

  const RECONSENT: Array<{
    name: string;
    breakIt: (refreshToken: string) => void;
    lastErrorCode: string;
    reason: string;
  }> = [
    {
      name: "invalid_grant, AADSTS70008 (expired or rotated-out refresh token)",
      breakIt: (rt) => emu.expireRefreshToken(rt, 70008),
      lastErrorCode: "invalid_grant",
      reason: "needs_reconsent",
    },
    {
      name: "invalid_grant, AADSTS700082 (90 days of inactivity)",
      breakIt: (rt) => emu.expireRefreshToken(rt, 700082),
      lastErrorCode: "invalid_grant",
      reason: "needs_reconsent",
    },
    {
      name: "plain invalid_grant without error_codes",
      breakIt: () =>
        emu.failNext({
          status: 400,
          body: {
            error: "invalid_grant",
            error_description: "AADSTS70008: looks like 70008 but only the error field counts",
          },
        }),
      lastErrorCode: "invalid_grant",
      reason: "needs_reconsent",
    },
    {
      name: "AADSTS65001 (consent withdrawn)",
      breakIt: () => emu.revokeConsent(TENANT.tid, APP.clientId),
      lastErrorCode: "consent_missing",
      reason: "consent_missing",
    },
  ];

  for (const c of RECONSENT) {
    it(`${c.name} → needs_reconsent (${c.lastErrorCode}), refreshing stops, needs-reconsent for callers`, async () => {
      const t = getDb();
      const { connectionId, before } = await connect(t);
      c.breakIt(before.refreshToken!);
      try {
        const outcome = await refresh(t, connectionId);
        expect(outcome).toMatchObject({ result: "failed", failureClass: c.reason, errorCode: "invalid_grant" });
      } finally {
        emu.grantConsent(TENANT.tid, APP.clientId);
        emu.clearFaults();
      }
      const after = await expectUnchanged(t, connectionId, before);
      expect(after.connection).toMatchObject({
        status: "needs_reconsent",
        lastErrorCode: c.lastErrorCode,
        nextRefreshAt: null,
      });
      expect(await eventsOf(t, connectionId)).toEqual(["connection.connected", "connection.needs_reconsent"]);

      // refreshing stops: no further call to the AS, callers are told to send a consent link
      const calls = emu.counters.tokenCalls;
      expect(await refresh(t, connectionId)).toEqual({ result: "skipped", why: "needs_reconsent" });
      const err = await expectAppError(getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 1 }));
      expect(err).toMatchObject({
        code: "needs-reconsent",
        status: 409,
        extra: { reason: c.lastErrorCode, connection_id: connectionId },
      });
      expect(emu.counters.tokenCalls).toBe(calls);
    });
  }

  it("AADSTS7000215 (wrong client secret): an operator alert on the OAuth app, the connection's status untouched, the token still served", async () => {
    const t = getDb();
    const { connectionId, oauthAppId, before } = await connect(t);
    await saveOAuthApp({
      db: t.db,
      organizationId,
      appId: oauthAppId,
      actor: SYSTEM,
      input: { providerId: PROVIDER, name: "app", clientId: APP.clientId, clientSecret: "not-the-secret" },
    });
    const outcome = await refresh(t, connectionId);
    expect(outcome).toMatchObject({ result: "failed", failureClass: "app_misconfigured", errorCode: "invalid_client" });
    const app = await t.db.oAuthApp.findUniqueOrThrow({ where: { id: oauthAppId } });
    expect(app.alertCode).toBe("AADSTS7000215");
    expect(app.alertAt).not.toBeNull();
    const after = await expectUnchanged(t, connectionId, before);
    expect(after.connection).toMatchObject({ status: "active", refreshAttempts: 0, lastErrorCode: "invalid_client" });
    expect(after.connection.nextRefreshAt!.getTime() - after.connection.lastErrorAt!.getTime()).toBe(3600_000);
    expect(await eventsOf(t, connectionId)).toEqual(["connection.connected"]);
    const served = await getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 10 * LIFETIME });
    expect(served.accessToken).toBe(before.accessToken);

    // new credentials clear the alert and the next refresh works
    await saveOAuthApp({
      db: t.db,
      organizationId,
      appId: oauthAppId,
      actor: SYSTEM,
      input: { providerId: PROVIDER, name: "app", clientId: APP.clientId, clientSecret: APP.clientSecret },
    });
    expect(await refresh(t, connectionId)).toEqual({ result: "refreshed" });
    expect((await t.db.oAuthApp.findUniqueOrThrow({ where: { id: oauthAppId } })).alertCode).toBeNull();
  });

  it("a response without refresh_token keeps the old refresh token; the new access token is stored", async () => {
    const t = getDb();
    const { connectionId, before } = await connect(t);
    emu.failNext(faults.mutate(({ refresh_token: _dropped, ...rest }) => rest));
    expect(await refresh(t, connectionId)).toEqual({ result: "refreshed" });
    const after = await storedTokens(t.db, connectionId);
    expect(after.refreshToken).toBe(before.refreshToken);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.version).toBe(before.version! + 1);
    expect(after.connection).toMatchObject({ status: "active", refreshAttempts: 0 });
  });

  it("a rotating response swaps the refresh token together with the access token", async () => {
    const t = getDb();
    const { connectionId, before } = await connect(t);
    expect(await refresh(t, connectionId)).toEqual({ result: "refreshed" });
    const after = await storedTokens(t.db, connectionId);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.version).toBe(before.version! + 1);
    // the emulator invalidates rotated-out refresh tokens: only the stored one is still usable
    const live = emu.refreshTokens.filter((r) => r.invalidWith === null).map((r) => r.token);
    expect(live).toContain(after.refreshToken);
    expect(live).not.toContain(before.refreshToken);
  });

  it("expires_in as a string (Azure v1), absent (the provider's default lifetime, not 'never'), huge (clamped to 24 h)", async () => {
    const t = getDb();
    const { connectionId } = await connect(t);
    const within = async (seconds: number, sent: number, received: number) => {
      const c = await readConnection(t.db, connectionId);
      expect(c.expiresAt!.getTime()).toBeGreaterThanOrEqual(sent + seconds * 1000);
      expect(c.expiresAt!.getTime()).toBeLessThanOrEqual(received + seconds * 1000);
      expect(c.nextRefreshAt!.getTime()).toBe(c.expiresAt!.getTime() - 10 * 60_000);
    };
    let sent = Date.now();
    emu.failNext(
      faults.mutate((b) => {
        expect(b.expires_in).toBe(String(LIFETIME)); // the emulator speaks v1: strings
        return b;
      }),
    );
    expect(await refresh(t, connectionId)).toEqual({ result: "refreshed" });
    await within(LIFETIME, sent, Date.now());

    sent = Date.now();
    emu.failNext(faults.mutate(({ expires_in: _a, expires_on: _b, ext_expires_in: _c, ...rest }) => rest));
    expect(await refresh(t, connectionId)).toEqual({ result: "refreshed" });
    await within(DEFAULT_LIFETIME, sent, Date.now());

    sent = Date.now();
    emu.failNext(faults.mutate((b) => ({ ...b, expires_in: "3600000" })));
    expect(await refresh(t, connectionId)).toEqual({ result: "refreshed" });
    await within(24 * 3600, sent, Date.now());
  });

  for (const garbage of ["abc", "-5", "0", "1e3x", ""]) {
    it(`expires_in ${JSON.stringify(garbage)}: ${garbage === "" ? "treated as absent" : "refused, nothing stored"}`, async () => {
      const t = getDb();
      const { connectionId, before } = await connect(t);
      emu.failNext(faults.mutate(({ expires_on: _dropped, ...b }) => ({ ...b, expires_in: garbage })));
      const outcome = await refresh(t, connectionId);
      if (garbage === "") {
        expect(outcome).toEqual({ result: "refreshed" });
        return;
      }
      expect(outcome).toMatchObject({
        result: "failed",
        failureClass: "invalid_response",
        errorCode: "invalid_response",
      });
      const after = await expectUnchanged(t, connectionId, before);
      expect(after.connection).toMatchObject({
        status: "active",
        refreshAttempts: 1,
        lastErrorCode: "invalid_response",
      });
      expect((await getFreshToken({ db: t.db, organizationId, connectionId })).accessToken).toBe(before.accessToken);
    });
  }

  it(`${MAX_QUICK_ATTEMPTS} retryable failures in a row → status error and connection.refresh_failed once; the next success → active and connection.recovered`, async () => {
    const t = getDb();
    const { connectionId, before } = await connect(t);
    for (let i = 1; i <= MAX_QUICK_ATTEMPTS + 1; i++) {
      emu.failNext(faults.serverError(502));
      expect(await refresh(t, connectionId)).toMatchObject({ result: "failed", failureClass: "retryable" });
      const c = await readConnection(t.db, connectionId);
      expect(c.refreshAttempts).toBe(i);
      expect(c.status).toBe(i >= MAX_QUICK_ATTEMPTS ? "error" : "active");
      // exponential backoff with jitter: 30 s · 2^(i-1), between half and all of it, capped at 1 h
      const ceiling = Math.min(3600_000, 30_000 * 2 ** (i - 1));
      const wait = c.nextRefreshAt!.getTime() - c.lastErrorAt!.getTime();
      expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
      expect(wait).toBeLessThanOrEqual(ceiling);
    }
    await expectUnchanged(t, connectionId, before);
    expect(await eventsOf(t, connectionId)).toEqual(["connection.connected", "connection.refresh_failed"]);
    // while in error, a still-valid token is served
    expect((await getFreshToken({ db: t.db, organizationId, connectionId })).accessToken).toBe(before.accessToken);

    expect(await refresh(t, connectionId)).toEqual({ result: "refreshed" });
    const c = await readConnection(t.db, connectionId);
    expect(c).toMatchObject({ status: "active", refreshAttempts: 0, lastErrorCode: null, lastErrorMessage: null });
    expect(await eventsOf(t, connectionId)).toEqual([
      "connection.connected",
      "connection.refresh_failed",
      "connection.recovered",
    ]);
    const audit = await t.db.auditEvent.findMany({
      where: { organizationId, targetId: connectionId, action: { startsWith: "connection.refresh" } },
    });
    expect(audit.filter((a) => a.action === "connection.refresh_failed")).toHaveLength(MAX_QUICK_ATTEMPTS + 1);
    expect(audit.filter((a) => a.action === "connection.refreshed")).toHaveLength(1);
    for (const a of audit) expect(a.details).not.toContain(before.refreshToken!);
  });
});
