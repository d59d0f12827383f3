// "Send test event": one signed `webhook.test` delivery to one endpoint, whatever events it subscribed
// to, sent at once in this request so the sender sees what the endpoint answered. It goes through the
// same delivery code (signature, egress policy, delivery log) as every event; it is tried once.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { deliverNow } from "@/lib/webhooks/deliver-webhooks";
import { WEBHOOK_TEST_EVENT } from "@/lib/webhooks/events";

/** Long enough for the request to send it itself: no delivery loop claims it in the meantime. */
const HELD_FOR_SENDER_MS = 60_000;

export type TTestEventOutcome = {
  deliveryId: string;
  eventId: string;
  status: "delivered" | "failed" | "pending";
  /** the endpoint's HTTP status, when it answered */
  statusCode: number | null;
  /** why it failed: "HTTP <status>", or the egress error code (network, timeout, blocked_address, …) */
  error: string | null;
};

export async function sendTestWebhookEvent({
  db,
  organizationId,
  endpointId,
  actor,
}: {
  db: Db;
  organizationId: string;
  endpointId: string;
  actor: Actor;
}): Promise<TTestEventOutcome> {
  // another organization's endpoint is indistinguishable from a missing one
  const endpoint = await db.webhookEndpoint.findFirst({
    where: { id: endpointId, organizationId },
    select: { id: true, url: true },
  });
  if (!endpoint) throw new AppError("not-found", "Webhook not found", { i18n: { key: "errors.webhookNotFound" } });
  const eventId = `evt_${crypto.randomUUID()}`;
  const payload = {
    id: eventId,
    type: WEBHOOK_TEST_EVENT,
    created_at: new Date().toISOString(),
    organization_id: organizationId,
    data: { endpoint_id: endpoint.id, message: "A test event sent from Consentry's webhooks page." },
  };
  const delivery = await db.webhookDelivery.create({
    data: {
      organizationId,
      endpointId: endpoint.id,
      eventType: WEBHOOK_TEST_EVENT,
      payload: JSON.stringify(payload),
      nextAttemptAt: new Date(Date.now() + HELD_FOR_SENDER_MS),
    },
    select: { id: true },
  });
  const after = await deliverNow({ db, deliveryId: delivery.id });
  const outcome: TTestEventOutcome = {
    deliveryId: delivery.id,
    eventId,
    status: after.status === "delivered" ? "delivered" : after.status === "failed" ? "failed" : "pending",
    statusCode: after.lastStatusCode,
    error: after.lastError,
  };
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "webhook.test_sent",
      outcome: outcome.status === "delivered" ? "success" : "failure",
      target: { type: "webhook", id: endpoint.id },
      details: {
        url: endpoint.url,
        delivery: delivery.id,
        result: outcome.status,
        ...(outcome.statusCode !== null ? { httpStatus: outcome.statusCode } : {}),
        ...(outcome.error ? { error: outcome.error } : {}),
      },
    },
    db,
  );
  return outcome;
}
