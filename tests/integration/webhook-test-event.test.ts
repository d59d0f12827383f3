// "Send test event": a signed webhook.test to one endpoint, sent at once whatever it subscribed to, its
// outcome (delivered with the HTTP status, or failed with the reason, tried once) in the answer, the
// delivery log and the audit log; never to another organization's endpoint. And the delivery loop:
// an event queued while a pass is held by a hanging endpoint reaches another endpoint at once.
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { deliverWebhooks } from "@/lib/webhooks/deliver-webhooks";
import { WEBHOOK_EVENTS, WEBHOOK_TEST_EVENT } from "@/lib/webhooks/events";
import { startWebhookDelivery } from "@/lib/webhooks/run-webhook-delivery";
import { sendTestWebhookEvent } from "@/lib/webhooks/send-test-event";
import { notifyWebhookQueued } from "@/lib/webhooks/webhook-queued";
import { handlePortalMessage } from "@/lib/ipc/portal-channel";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg, seedWebhookDelivery } from "../helpers/factories";
import { SYSTEM, startReceiver, waitFor, type Receiver } from "../helpers/lifecycle";

let recvA: Receiver;
let recvB: Receiver;
beforeAll(async () => {
  recvA = await startReceiver();
  recvB = await startReceiver();
});
afterAll(async () => {
  await recvA?.close();
  await recvB?.close();
});

const verified = (secret: string, body: string, headers: Record<string, string>) => {
  try {
    return new Webhook(secret).verify(body, headers);
  } catch (e) {
    if (e instanceof WebhookVerificationError) return `refused: ${e.message}`;
    throw e;
  }
};

describeEachDb("webhook test event", (getDb) => {
  beforeEach(async () => {
    const { db } = getDb();
    await db.webhookDelivery.deleteMany({});
    await db.webhookEndpoint.deleteMany({});
    for (const r of [recvA, recvB]) {
      r.received.length = 0;
      r.mode = "ok";
    }
  });

  const endpointOf = async (t: TestDatabase, receiver: Receiver, events: string[] = ["connection.revoked"]) => {
    const o = await seedOrg(t.db);
    const endpoint = await createWebhookEndpoint({
      db: t.db,
      organizationId: o.id,
      actor: SYSTEM,
      input: { url: `${receiver.url}/hooks/${o.id}`, events },
    });
    return { organizationId: o.id, endpoint };
  };

  it("is sent at once, signed, to an endpoint subscribed to other events; delivered with the HTTP status; audited", async () => {
    const t = getDb();
    const { organizationId, endpoint } = await endpointOf(t, recvA);
    const outcome = await sendTestWebhookEvent({ db: t.db, organizationId, endpointId: endpoint.id, actor: SYSTEM });
    expect(outcome).toMatchObject({ status: "delivered", statusCode: 204, error: null });
    expect(recvA.received).toHaveLength(1);
    const r = recvA.received[0]!;
    expect(r.headers["consentry-event"]).toBe(WEBHOOK_TEST_EVENT);
    expect(r.headers["webhook-id"]).toBe(outcome.deliveryId);
    // verified with the Standard Webhooks reference library and the endpoint's secret
    expect(verified(endpoint.secret, r.body, r.headers as Record<string, string>)).toEqual({
      id: outcome.eventId,
      type: "webhook.test",
      created_at: expect.any(String),
      organization_id: organizationId,
      data: { endpoint_id: endpoint.id, message: expect.any(String) },
    });
    expect(
      verified(`whsec_${Buffer.alloc(24, 1).toString("base64")}`, r.body, r.headers as Record<string, string>),
    ).toMatch(/^refused/);
    expect(await t.db.webhookDelivery.findUniqueOrThrow({ where: { id: outcome.deliveryId } })).toMatchObject({
      eventType: "webhook.test",
      status: "delivered",
      attempts: 1,
      lastStatusCode: 204,
    });
    const audit = await t.db.auditEvent.findFirstOrThrow({ where: { organizationId, action: "webhook.test_sent" } });
    expect(audit).toMatchObject({ outcome: "success", targetType: "webhook", targetId: endpoint.id });
    expect(JSON.parse(audit.details)).toMatchObject({ result: "delivered", httpStatus: 204 });
    // nothing left for a delivery loop to send again
    expect(await deliverWebhooks({ db: t.db })).toMatchObject({ attempted: 0 });
    expect(recvA.received).toHaveLength(1);
  });

  it("a refusing or unreachable endpoint: failed with the reason, tried once, not retried", async () => {
    const t = getDb();
    const { organizationId, endpoint } = await endpointOf(t, recvA);
    recvA.mode = 500;
    const refused = await sendTestWebhookEvent({ db: t.db, organizationId, endpointId: endpoint.id, actor: SYSTEM });
    expect(refused).toMatchObject({ status: "failed", statusCode: 500, error: "HTTP 500" });
    expect(await t.db.webhookDelivery.findUniqueOrThrow({ where: { id: refused.deliveryId } })).toMatchObject({
      status: "failed",
      attempts: 1,
    });

    const gone = await startReceiver();
    const { organizationId: o2, endpoint: e2 } = await endpointOf(t, gone);
    await gone.close();
    const unreachable = await sendTestWebhookEvent({ db: t.db, organizationId: o2, endpointId: e2.id, actor: SYSTEM });
    expect(unreachable).toMatchObject({ status: "failed", statusCode: null, error: "network" });
    const audit = await t.db.auditEvent.findFirstOrThrow({
      where: { organizationId: o2, action: "webhook.test_sent" },
    });
    expect(audit.outcome).toBe("failure");
    expect(JSON.parse(audit.details)).toMatchObject({ result: "failed", error: "network" });
    expect(await deliverWebhooks({ db: t.db, now: () => new Date(Date.now() + 86400_000) })).toMatchObject({
      attempted: 0,
    });
  });

  it("cross-organization: another organization's endpoint is not found, and receives nothing", async () => {
    const t = getDb();
    const A = await endpointOf(t, recvA);
    const B = await endpointOf(t, recvB);
    await expect(
      sendTestWebhookEvent({ db: t.db, organizationId: A.organizationId, endpointId: B.endpoint.id, actor: SYSTEM }),
    ).rejects.toMatchObject({ code: "not-found" });
    expect(recvB.received).toHaveLength(0);
    expect(await t.db.webhookDelivery.count()).toBe(0);
  });

  it("webhook.test is not an event anyone subscribes to: the event list stays as the API validates it", async () => {
    const t = getDb();
    expect(WEBHOOK_EVENTS).not.toContain(WEBHOOK_TEST_EVENT);
    const o = await seedOrg(t.db);
    await expect(
      createWebhookEndpoint({
        db: t.db,
        organizationId: o.id,
        actor: SYSTEM,
        input: { url: `${recvA.url}/x`, events: [WEBHOOK_TEST_EVENT] },
      }),
    ).rejects.toMatchObject({ code: "validation", errors: [expect.objectContaining({ path: "events.0" })] });
  });

  it("the delivery loop: an event queued while a pass waits on a hanging endpoint reaches another endpoint at once", async () => {
    const t = getDb();
    const slow = await endpointOf(t, recvA);
    const quick = await endpointOf(t, recvB);
    recvA.mode = "hang"; // holds its delivery until the 10 s egress timeout
    await seedWebhookDelivery(t.db, {
      organizationId: slow.organizationId,
      endpointId: slow.endpoint.id,
      eventType: "connection.revoked",
      payload: JSON.stringify({ id: "evt_slow", type: "connection.revoked" }),
    });
    // polling once a minute: only the nudge can explain a prompt delivery
    const loop = startWebhookDelivery({ db: t.db, pollMs: 60_000 });
    try {
      await waitFor(() => recvA.received.length === 1, { what: "the pass to reach the hanging endpoint" });
      await seedWebhookDelivery(t.db, {
        organizationId: quick.organizationId,
        endpointId: quick.endpoint.id,
        eventType: "connection.revoked",
        payload: JSON.stringify({ id: "evt_quick", type: "connection.revoked" }),
      });
      const queuedAt = Date.now();
      // the portal process's signal, as the front server receives it over the fork channel
      handlePortalMessage({ consentry: "webhook-queued" });
      await waitFor(() => recvB.received.length === 1, { what: "the quick endpoint's delivery", timeoutMs: 5000 });
      expect(Date.now() - queuedAt).toBeLessThan(3000);
      expect(JSON.parse(recvB.received[0]!.body)).toEqual({ id: "evt_quick", type: "connection.revoked" });
      // the hanging endpoint got its delivery once, not again from the nudged pass
      expect(recvA.received).toHaveLength(1);
      // an event queued in this process wakes the loop the same way
      await seedWebhookDelivery(t.db, {
        organizationId: quick.organizationId,
        endpointId: quick.endpoint.id,
        eventType: "connection.revoked",
        payload: JSON.stringify({ id: "evt_local", type: "connection.revoked" }),
      });
      notifyWebhookQueued();
      await waitFor(() => recvB.received.length === 2, { what: "the second quick delivery", timeoutMs: 5000 });
    } finally {
      // the hanging endpoint goes away: the loop stops without waiting for its timeout
      await recvA.close();
      await loop.stop();
      recvA = await startReceiver();
    }
  });
});
