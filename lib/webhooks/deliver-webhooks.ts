// Sends due webhook deliveries: each claimed atomically (so two workers never send one twice), signed
// (Standard Webhooks), retried with backoff up to MAX_ATTEMPTS, every attempt kept in the delivery log.
import type { Db } from "@/lib/db/client";
import { decryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { EgressError, egressFetch } from "@/lib/oauth/egress";
import { backoffMs } from "@/lib/backoff";
import { signWebhook } from "@/lib/webhooks/signature";
import { recordWebhookDelivery } from "@/lib/metrics/metrics";
import { WEBHOOK_TEST_EVENT } from "@/lib/webhooks/events";

export const MAX_ATTEMPTS = 8;

/**
 * Sends due deliveries within a time budget, a few endpoints at a time: a hanging endpoint holds up
 * only its own queue, never the whole run. What is left waits for the next run. `listed`: the due
 * deliveries this run found (at most `limit`; another worker may have claimed some of them).
 * `busy`: endpoints another run in this process is sending to right now, shared between runs: they are
 * left to that run (each endpoint's events stay in order), and this run marks the ones it serves.
 */
export async function deliverWebhooks({
  db,
  limit = 50,
  concurrency = 4,
  budgetMs = 15_000,
  now = () => new Date(),
  busy = new Set<string>(),
}: {
  db: Db;
  limit?: number;
  concurrency?: number;
  budgetMs?: number;
  now?: () => Date;
  busy?: Set<string>;
}) {
  const due = await db.webhookDelivery.findMany({
    where: {
      status: "pending",
      nextAttemptAt: { lte: now() },
      ...(busy.size ? { endpointId: { notIn: [...busy] } } : {}),
    },
    orderBy: { nextAttemptAt: "asc" },
    take: limit,
    include: { endpoint: true },
  });
  let delivered = 0;
  let failed = 0;
  const deadline = Date.now() + budgetMs;
  // One queue per endpoint, in order: endpoints are served side by side, each one's events in sequence.
  const byEndpoint = new Map<string, typeof due>();
  for (const d of due) byEndpoint.set(d.endpointId, [...(byEndpoint.get(d.endpointId) ?? []), d]);
  const queues = [...byEndpoint.values()];
  let next = 0;
  const slot = async () => {
    while (next < queues.length && Date.now() < deadline) {
      const queue = queues[next++]!;
      const endpointId = queue[0]!.endpointId;
      if (busy.has(endpointId)) continue; // taken by another run since this one listed it
      busy.add(endpointId);
      try {
        for (const d of queue) {
          if (Date.now() >= deadline) break;
          const r = await deliverOne(db, d, now);
          if (r === "delivered") delivered++;
          else if (r === "failed") failed++;
        }
      } finally {
        busy.delete(endpointId);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queues.length) }, slot));
  return { attempted: delivered + failed, delivered, failed, listed: due.length };
}

type Due = Awaited<ReturnType<Db["webhookDelivery"]["findMany"]>>[number] & {
  endpoint: { id: string; organizationId: string; url: string; secretEnc: string; active: boolean };
};

/**
 * Sends one delivery now, in this request (the webhooks page's "Send test event"), claimed like any
 * other so that a delivery loop never sends it too. The delivery as it stands afterwards.
 */
export async function deliverNow({
  db,
  deliveryId,
  now = () => new Date(),
}: {
  db: Db;
  deliveryId: string;
  now?: () => Date;
}) {
  const d = await db.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { endpoint: true } });
  if (d?.status === "pending") await deliverOne(db, d, now);
  return db.webhookDelivery.findUniqueOrThrow({
    where: { id: deliveryId },
    select: { id: true, status: true, attempts: true, lastStatusCode: true, lastError: true, deliveredAt: true },
  });
}

async function deliverOne(db: Db, d: Due, now: () => Date): Promise<"delivered" | "failed" | "skipped"> {
  // Claim: push nextAttemptAt forward; only the worker whose update matched sends.
  const claim = await db.webhookDelivery.updateMany({
    where: { id: d.id, status: "pending", nextAttemptAt: d.nextAttemptAt },
    data: { nextAttemptAt: new Date(now().getTime() + 60_000) },
  });
  if (claim.count !== 1) return "skipped";
  const attempts = d.attempts + 1;
  let statusCode: number | null = null;
  let error: string | null = null;
  if (!d.endpoint.active) error = "endpoint disabled";
  else {
    try {
      const secret = decryptSecret(d.endpoint.secretEnc, contextFor("WebhookEndpoint", d.endpoint, "secretEnc"));
      const res = await egressFetch(d.endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "Consentry-Webhooks/1",
          // the wall clock, not the scheduler's `now`: receivers compare the timestamp with theirs
          ...signWebhook({ secret, deliveryId: d.id, body: d.payload }),
          "consentry-event": d.eventType,
        },
        body: d.payload,
        timeoutMs: 10_000,
        maxBytes: 16 * 1024,
      });
      statusCode = res.status;
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (e) {
      error = e instanceof EgressError ? `${e.code}` : "delivery error";
    }
  }
  if (!error) {
    await db.webhookDelivery.update({
      where: { id: d.id },
      data: { status: "delivered", attempts, lastStatusCode: statusCode, lastError: null, deliveredAt: now() },
    });
    recordWebhookDelivery("delivered");
    return "delivered";
  }
  // a test event is tried once: its sender is watching for the outcome, a retry hours later helps nobody
  const final = attempts >= MAX_ATTEMPTS || !d.endpoint.active || d.eventType === WEBHOOK_TEST_EVENT;
  recordWebhookDelivery(final ? "failed" : "retrying");
  await db.webhookDelivery.update({
    where: { id: d.id },
    data: {
      status: final ? "failed" : "pending",
      attempts,
      lastStatusCode: statusCode,
      lastError: error,
      nextAttemptAt: new Date(now().getTime() + backoffMs(attempts)),
    },
  });
  return "failed";
}
