// Outbound webhooks: which lifecycle events are queued, signed deliveries a receiver can verify,
// retries with backoff and the delivery log, the delivery loop (seconds after the event, no refresh
// run needed), a hanging endpoint never holding up refreshes, and no event ever reaching another
// organization's endpoint.
import crypto from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { disconnectConnection } from "@/lib/connections/disconnect-connection";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { refreshDue, warnExpiringRefreshTokens } from "@/lib/tokens/refresh-due";
import { MAX_QUICK_ATTEMPTS } from "@/lib/tokens/next-refresh-at";
import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { MAX_ATTEMPTS, deliverWebhooks } from "@/lib/webhooks/deliver-webhooks";
import { startWebhookDelivery } from "@/lib/webhooks/run-webhook-delivery";
import { newWebhookSecret, signWebhook } from "@/lib/webhooks/signature";
import { encryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { WEBHOOK_EVENTS } from "@/lib/webhooks/events";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import { faults, followAuthorize } from "../fixtures/http-emulator";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg, seedWebhookDelivery } from "../helpers/factories";
import {
  SYSTEM,
  connectViaConsent,
  readConnection,
  reconsent,
  startReceiver,
  storedTokens,
  waitFor,
  type ReceivedWebhook,
  type Receiver,
} from "../helpers/lifecycle";

const DAY = 86400_000;
const APP = {
  client_id: `C${crypto.randomBytes(16).toString("hex")}`,
  client_secret: crypto.randomBytes(24).toString("hex"),
};
let webex: WebexEmulator;
let recvA: Receiver;
let recvB: Receiver;

beforeAll(async () => {
  webex = await createWebexEmulator({
    integrations: [{ clientId: APP.client_id, clientSecret: APP.client_secret, redirectUris: [callbackUrl("webex")] }],
  });
  setProviderHostOverridesForTests({ "https://webexapis.com": webex.url });
  recvA = await startReceiver();
  recvB = await startReceiver();
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await webex?.close();
  await recvA?.close();
  await recvB?.close();
});

type Payload = {
  id: string;
  type: string;
  created_at: string;
  organization_id: string;
  data: { connection: { id: string; status: string }; [k: string]: unknown };
};
const payloadOf = (r: ReceivedWebhook) => JSON.parse(r.body) as Payload;
const headersOf = (r: ReceivedWebhook) => r.headers as Record<string, string>;
/** what a receiver does with the Standard Webhooks reference verifier: the payload, or why it was refused */
const verified = (secret: string, body: string, headers: Record<string, string>) => {
  try {
    return new Webhook(secret).verify(body, headers);
  } catch (e) {
    if (e instanceof WebhookVerificationError) return `refused: ${e.message}`;
    throw e;
  }
};
const authorize = (url: string) => followAuthorize(url, { origins: [webex.url] });

describeEachDb("webhooks", (getDb) => {
  beforeEach(async () => {
    const { db } = getDb();
    // deliverWebhooks works through every due delivery of the installation: start each test from none
    await db.webhookDelivery.deleteMany({});
    await db.webhookEndpoint.deleteMany({});
    for (const r of [recvA, recvB]) {
      r.received.length = 0;
      r.mode = "ok";
    }
    webex.clearFaults();
    webex.configure({
      accessTokenLifetimeSec: 3600,
      refreshTokenLifetimeSec: 90 * 86400,
      extendRefreshTokenOnUse: true,
      rotateRefreshToken: false,
    });
  });

  const org = async (t: TestDatabase, receiver: Receiver, events: readonly string[] = WEBHOOK_EVENTS) => {
    const o = await seedOrg(t.db);
    const endpoint = await createWebhookEndpoint({
      db: t.db,
      organizationId: o.id,
      actor: SYSTEM,
      input: { url: `${receiver.url}/hooks/${o.id}`, events },
    });
    return { organizationId: o.id, endpoint };
  };
  const connect = async (t: TestDatabase, organizationId: string) =>
    (await connectViaConsent({ db: t.db, organizationId, provider: "webex", app: APP, authorize })).connectionId;
  const queued = async (t: TestDatabase, connectionId: string) =>
    (await t.db.webhookDelivery.findMany({ orderBy: { createdAt: "asc" } }))
      .filter((d) => (JSON.parse(d.payload) as Payload).data.connection.id === connectionId)
      .map((d) => d.eventType);

  it("lifecycle events are queued (connected, refresh_failed, recovered, needs_reconsent, revoked, refresh_token_expiring) and delivered signed", async () => {
    const t = getDb();
    const { organizationId, endpoint } = await org(t, recvA);
    webex.configure({ refreshTokenLifetimeSec: 10 * 86400 }); // inside the 14-day warning horizon
    const flaky = await connect(t, organizationId);
    const doomed = await connect(t, organizationId);
    webex.configure({ refreshTokenLifetimeSec: 90 * 86400 });
    const leaving = await connect(t, organizationId);
    const secrets = [
      ...(await Promise.all([flaky, doomed, leaving].map((id) => storedTokens(t.db, id)))).flatMap((s) => [
        s.accessToken!,
        s.refreshToken!,
      ]),
      APP.client_secret,
      endpoint.secret,
    ];

    // refresh_token_expiring: once per refresh token, however often the check runs
    expect(await warnExpiringRefreshTokens({ db: t.db, now: new Date() })).toBe(2);
    expect(await warnExpiringRefreshTokens({ db: t.db, now: new Date() })).toBe(0);
    // refresh_failed after MAX_QUICK_ATTEMPTS retryable failures, then recovered
    webex.failNext(faults.serverError(503), MAX_QUICK_ATTEMPTS);
    for (let i = 0; i < MAX_QUICK_ATTEMPTS; i++)
      expect(await refreshConnection({ db: t.db, connectionId: flaky, reason: "on_demand" })).toMatchObject({
        result: "failed",
      });
    expect(await refreshConnection({ db: t.db, connectionId: flaky, reason: "on_demand" })).toEqual({
      result: "refreshed",
    });
    // needs_reconsent
    webex.expireRefreshToken((await storedTokens(t.db, doomed)).refreshToken!);
    expect(await refreshConnection({ db: t.db, connectionId: doomed, reason: "on_demand" })).toMatchObject({
      failureClass: "needs_reconsent",
    });
    // revoked
    await disconnectConnection({ db: t.db, organizationId, connectionId: leaving, actor: SYSTEM });

    expect(await queued(t, flaky)).toEqual([
      "connection.connected",
      "connection.refresh_token_expiring",
      "connection.refresh_failed",
      "connection.recovered",
    ]);
    expect(await queued(t, doomed)).toEqual([
      "connection.connected",
      "connection.refresh_token_expiring",
      "connection.needs_reconsent",
    ]);
    expect(await queued(t, leaving)).toEqual(["connection.connected", "connection.revoked"]);

    const summary = await deliverWebhooks({ db: t.db });
    expect(summary).toEqual({ attempted: 9, delivered: 9, failed: 0, listed: 9 });
    expect(recvA.received).toHaveLength(9);
    const rows = await t.db.webhookDelivery.findMany();
    for (const row of rows)
      expect(row).toMatchObject({ status: "delivered", attempts: 1, lastStatusCode: 204, lastError: null });

    // a Standard Webhooks secret: whsec_ + base64 of 24 random bytes
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(endpoint.secret.slice(6), "base64")).toHaveLength(24);
    for (const r of recvA.received) {
      const headers = headersOf(r);
      expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      expect(Math.abs(Number(headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
      expect(rows.map((d) => d.id)).toContain(headers["webhook-id"]);
      expect(verified(endpoint.secret, r.body, headers)).toEqual(JSON.parse(r.body));
      // an altered body, another id, another secret, a missing header: refused
      expect(verified(endpoint.secret, r.body.replace(organizationId, "org_other"), headers)).toBe(
        "refused: No matching signature found",
      );
      expect(verified(endpoint.secret, `${r.body} `, headers)).toBe("refused: No matching signature found");
      expect(verified(endpoint.secret, r.body, { ...headers, "webhook-id": "another" })).toBe(
        "refused: No matching signature found",
      );
      expect(verified(newWebhookSecret(), r.body, headers)).toBe("refused: No matching signature found");
      const { ["webhook-signature"]: _signature, ...unsigned } = headers;
      expect(verified(endpoint.secret, r.body, unsigned)).toBe("refused: Missing required headers");
      const p = payloadOf(r);
      expect(headers["consentry-event"]).toBe(p.type);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(p.organization_id).toBe(organizationId);
      expect(p.id).toMatch(/^evt_/);
      for (const s of secrets) expect(r.body).not.toContain(s);
    }
    const byType = (type: string) => recvA.received.map(payloadOf).filter((p) => p.type === type);
    expect(byType("connection.needs_reconsent")[0]!.data).toMatchObject({
      connection: { id: doomed, status: "needs_reconsent" },
      reason: "needs_reconsent",
      errorCode: "invalid_grant",
    });
    expect(byType("connection.revoked")[0]!.data.connection).toMatchObject({ id: leaving, status: "revoked" });
    expect(
      byType("connection.refresh_token_expiring")
        .map((p) => p.data.connection.id)
        .sort(),
    ).toEqual([flaky, doomed].sort());
    // a replay past the verifier's 5-minute tolerance is refused, and so is a genuine but old signature
    const first = recvA.received[0]!;
    vi.setSystemTime(Date.now() + 301_000);
    try {
      expect(verified(endpoint.secret, first.body, headersOf(first))).toBe("refused: Message timestamp too old");
    } finally {
      vi.useRealTimers();
    }
    const old = signWebhook({
      secret: endpoint.secret,
      deliveryId: headersOf(first)["webhook-id"]!,
      body: first.body,
      at: new Date(Date.now() - 3600_000),
    });
    expect(verified(endpoint.secret, first.body, old)).toBe("refused: Message timestamp too old");
  });

  it("an endpoint whose secret predates Standard Webhooks (base64url) keeps its key: the secret with + and / verifies", async () => {
    const t = getDb();
    const { organizationId, endpoint } = await org(t, recvA, ["connection.connected"]);
    let legacy = "";
    while (!/-/.test(legacy) || !/_/.test(legacy)) legacy = `whsec_${crypto.randomBytes(24).toString("base64url")}`;
    await t.db.webhookEndpoint.update({
      where: { id: endpoint.id },
      data: {
        secretEnc: encryptSecret(
          legacy,
          contextFor("WebhookEndpoint", { id: endpoint.id, organizationId }, "secretEnc"),
        ),
      },
    });
    await connect(t, organizationId);
    expect(await deliverWebhooks({ db: t.db })).toEqual({ attempted: 1, delivered: 1, failed: 0, listed: 1 });
    const [r] = recvA.received;
    const standard = `whsec_${legacy.slice("whsec_".length).replace(/-/g, "+").replace(/_/g, "/")}`;
    expect(verified(standard, r!.body, headersOf(r!))).toEqual(JSON.parse(r!.body));
    expect(verified(newWebhookSecret(), r!.body, headersOf(r!))).toBe("refused: No matching signature found");
  });

  it("refresh_token_expiring is announced again only for a new refresh token (re-consent) or one that left the warning horizon", async () => {
    const t = getDb();
    const { organizationId } = await org(t, recvA);
    webex.configure({ refreshTokenLifetimeSec: 10 * 86400 });
    const id = await connect(t, organizationId);
    const expiring = async () => (await queued(t, id)).filter((e) => e === "connection.refresh_token_expiring").length;
    await warnExpiringRefreshTokens({ db: t.db, now: new Date() });
    await warnExpiringRefreshTokens({ db: t.db, now: new Date() });
    expect(await expiring()).toBe(1);
    // a refresh that leaves it inside the horizon: still once
    expect(await refreshConnection({ db: t.db, connectionId: id, reason: "on_demand" })).toEqual({
      result: "refreshed",
    });
    await warnExpiringRefreshTokens({ db: t.db, now: new Date() });
    expect(await expiring()).toBe(1);
    // re-consent: a new refresh token, announced once
    await reconsent({ db: t.db, organizationId, connectionId: id, provider: "webex", authorize });
    await warnExpiringRefreshTokens({ db: t.db, now: new Date() });
    await warnExpiringRefreshTokens({ db: t.db, now: new Date() });
    expect(await expiring()).toBe(2);
    // extended far beyond the horizon by a refresh, then nearing its end again 80 days later
    webex.configure({ refreshTokenLifetimeSec: 90 * 86400 });
    expect(await refreshConnection({ db: t.db, connectionId: id, reason: "on_demand" })).toEqual({
      result: "refreshed",
    });
    expect((await readConnection(t.db, id)).refreshTokenWarnedAt).toBeNull();
    expect(await warnExpiringRefreshTokens({ db: t.db, now: new Date() })).toBe(0);
    await warnExpiringRefreshTokens({ db: t.db, now: new Date(Date.now() + 80 * DAY) });
    expect(await expiring()).toBe(3);
  });

  it(`a failing endpoint (HTTP 500) is retried with backoff and logged; failed after ${MAX_ATTEMPTS} attempts`, async () => {
    const t = getDb();
    const { organizationId, endpoint } = await org(t, recvA, ["connection.connected"]);
    recvA.mode = 500;
    await connect(t, organizationId);
    let row = await t.db.webhookDelivery.findFirstOrThrow({ where: { organizationId } });
    expect(row).toMatchObject({ status: "pending", attempts: 0, eventType: "connection.connected" });
    for (let n = 1; n <= MAX_ATTEMPTS; n++) {
      const clock = new Date(Math.max(Date.now(), row.nextAttemptAt.getTime()));
      // not yet due: nothing is sent
      if (n > 1)
        expect(await deliverWebhooks({ db: t.db, now: () => new Date(clock.getTime() - 1000) })).toEqual({
          attempted: 0,
          delivered: 0,
          failed: 0,
          listed: 0,
        });
      expect(await deliverWebhooks({ db: t.db, now: () => clock })).toEqual({
        attempted: 1,
        delivered: 0,
        failed: 1,
        listed: 1,
      });
      row = await t.db.webhookDelivery.findFirstOrThrow({ where: { id: row.id } });
      expect(row).toMatchObject({
        attempts: n,
        lastStatusCode: 500,
        lastError: "HTTP 500",
        status: n < MAX_ATTEMPTS ? "pending" : "failed",
        deliveredAt: null,
      });
      const ceiling = Math.min(3600_000, 30_000 * 2 ** (n - 1));
      const wait = row.nextAttemptAt.getTime() - clock.getTime();
      expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
      expect(wait).toBeLessThanOrEqual(ceiling);
      expect(recvA.received).toHaveLength(n);
    }
    // the same event each time, under the same webhook-id (receivers can de-duplicate), each attempt signed
    // with the time it was sent (not the scheduler's clock, which ran ahead here), so every one verifies
    expect(new Set(recvA.received.map((r) => headersOf(r)["webhook-id"]))).toEqual(new Set([row.id]));
    expect(new Set(recvA.received.map((r) => r.body)).size).toBe(1);
    for (const r of recvA.received) expect(verified(endpoint.secret, r.body, headersOf(r))).toEqual(JSON.parse(r.body));
    // given up: never sent again
    expect(await deliverWebhooks({ db: t.db, now: () => new Date(Date.now() + 30 * DAY) })).toEqual({
      attempted: 0,
      delivered: 0,
      failed: 0,
      listed: 0,
    });
    expect(recvA.received).toHaveLength(MAX_ATTEMPTS);

    // an endpoint that recovers: the next event is delivered
    recvA.mode = "ok";
    await connect(t, organizationId);
    expect(await deliverWebhooks({ db: t.db })).toEqual({ attempted: 1, delivered: 1, failed: 0, listed: 1 });
  });

  it("a hanging endpoint never blocks refreshing: refreshes commit while the delivery hangs", async () => {
    const t = getDb();
    const { organizationId } = await org(t, recvA);
    recvA.mode = "hang";
    const a = await connect(t, organizationId); // its connection.connected delivery is pending
    const b = await connect(t, organizationId);
    const before = await readConnection(t.db, a);
    await t.db.connection.update({ where: { id: a }, data: { nextRefreshAt: new Date(Date.now() - 1000) } });

    // the delivery loop sends the pending deliveries on its own: the first one hangs at the endpoint
    const loop = startWebhookDelivery({ db: t.db });
    await waitFor(() => recvA.received.length > 0, { what: "the delivery to reach the hanging endpoint" });
    // meanwhile the scheduler refreshes and commits
    expect(await refreshDue({ db: t.db })).toMatchObject({ due: 1, refreshed: 1, failed: {} });
    const during = await readConnection(t.db, a);
    expect(during.lastRefreshedAt!.getTime()).toBeGreaterThan(before.lastRefreshedAt!.getTime());
    expect(during.leaseOwner).toBeNull();

    // meanwhile an on-demand refresh (and its webhook event) completes at once
    webex.expireRefreshToken((await storedTokens(t.db, b)).refreshToken!);
    const started = Date.now();
    expect(await refreshConnection({ db: t.db, connectionId: b, reason: "on_demand" })).toMatchObject({
      failureClass: "needs_reconsent",
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await queued(t, b)).toContain("connection.needs_reconsent");

    // the endpoint goes away: the loop stops, the delivery stays queued for a retry
    await recvA.close();
    await loop.stop();
    const pending = await t.db.webhookDelivery.findMany({ where: { organizationId, status: "pending", attempts: 1 } });
    expect(pending.length).toBeGreaterThanOrEqual(1);
    expect(pending.every((d) => d.lastError === "network" || d.lastError === "timeout")).toBe(true);
    recvA = await startReceiver();
  });

  it("the delivery loop sends events on its own, without any refresh run: at once when queued in this process, by polling otherwise", async () => {
    const t = getDb();
    const { organizationId, endpoint } = await org(t, recvA);
    const refreshRun = async () => (await t.db.backgroundRun.findUnique({ where: { name: "refresh" } }))?.finishedAt;
    const runBefore = await refreshRun();
    const refreshed = webex.counters.refreshed;

    // polling only once a minute: what arrives sooner was nudged by the event itself
    const nudged = startWebhookDelivery({ db: t.db, pollMs: 60_000 });
    try {
      await waitFor(async () => (await t.db.webhookDelivery.count({ where: { status: "pending" } })) === 0, {
        what: "the loop's first pass",
      });
      const id = await connect(t, organizationId);
      await waitFor(() => recvA.received.length === 1, {
        what: "connection.connected to be delivered",
        timeoutMs: 20_000,
      });
      expect(payloadOf(recvA.received[0]!)).toMatchObject({
        type: "connection.connected",
        data: { connection: { id } },
      });
      await disconnectConnection({ db: t.db, organizationId, connectionId: id, actor: SYSTEM });
      await waitFor(() => recvA.received.length === 2, {
        what: "connection.revoked to be delivered",
        timeoutMs: 20_000,
      });
      expect(payloadOf(recvA.received[1]!).type).toBe("connection.revoked");
    } finally {
      await nudged.stop();
    }

    // a delivery another instance queued (no nudge reaches this process): found by the next poll
    const polled = startWebhookDelivery({ db: t.db, pollMs: 500 });
    try {
      await seedWebhookDelivery(t.db, {
        organizationId,
        endpointId: endpoint.id,
        eventType: "connection.revoked",
        payload: JSON.stringify({ id: "evt_elsewhere", type: "connection.revoked" }),
      });
      await waitFor(() => recvA.received.length === 3, { what: "the other instance's delivery", timeoutMs: 20_000 });
      expect(JSON.parse(recvA.received[2]!.body)).toEqual({ id: "evt_elsewhere", type: "connection.revoked" });
    } finally {
      await polled.stop();
    }
    // all of it before (and without) any refresh run or refresh
    expect(await refreshRun()).toEqual(runBefore);
    expect(webex.counters.refreshed).toBe(refreshed);
    expect(await t.db.webhookDelivery.count({ where: { organizationId, status: "delivered" } })).toBe(3);
  });

  it("cross-organization: an endpoint only ever receives its own organization's events", async () => {
    const t = getDb();
    const A = await org(t, recvA);
    const B = await org(t, recvB);
    const a = await connect(t, A.organizationId);
    const b = await connect(t, B.organizationId);
    webex.expireRefreshToken((await storedTokens(t.db, a)).refreshToken!);
    await refreshConnection({ db: t.db, connectionId: a, reason: "on_demand" });
    await disconnectConnection({ db: t.db, organizationId: A.organizationId, connectionId: a, actor: SYSTEM });
    // B cannot disconnect A's connection either
    await expect(
      disconnectConnection({ db: t.db, organizationId: B.organizationId, connectionId: a, actor: SYSTEM }),
    ).rejects.toMatchObject({ code: "not-found" });

    await deliverWebhooks({ db: t.db });
    expect(recvA.received.map((r) => payloadOf(r).type)).toEqual([
      "connection.connected",
      "connection.needs_reconsent",
      "connection.revoked",
    ]);
    expect(recvB.received.map((r) => payloadOf(r).type)).toEqual(["connection.connected"]);
    for (const r of recvA.received) {
      expect(payloadOf(r)).toMatchObject({ organization_id: A.organizationId, data: { connection: { id: a } } });
      expect(r.path).toBe(`/hooks/${A.organizationId}`);
      expect(verified(A.endpoint.secret, r.body, headersOf(r))).toEqual(JSON.parse(r.body));
      expect(verified(B.endpoint.secret, r.body, headersOf(r))).toBe("refused: No matching signature found");
    }
    for (const r of recvB.received)
      expect(payloadOf(r)).toMatchObject({ organization_id: B.organizationId, data: { connection: { id: b } } });
    // and in the delivery log: every delivery goes to an endpoint of the event's organization
    const rows = await t.db.webhookDelivery.findMany({ include: { endpoint: true } });
    for (const d of rows) {
      expect(d.endpoint.organizationId).toBe(d.organizationId);
      expect((JSON.parse(d.payload) as Payload).organization_id).toBe(d.organizationId);
    }
  });
});
