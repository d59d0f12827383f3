// Sends due webhook deliveries: each claimed atomically (so two workers never send one twice), signed
// (Standard Webhooks), retried with backoff up to MAX_ATTEMPTS, every attempt kept in the delivery log.
import type { Db } from "@/lib/db/client";
import { decryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { EgressError, egressFetch } from "@/lib/oauth/egress";
import { backoffMs } from "@/lib/backoff";
import { signWebhook } from "@/lib/webhooks/signature";
import { recordWebhookDelivery } from "@/lib/metrics/metrics";

export const MAX_ATTEMPTS = 8;

/**
 * Sends due deliveries within a time budget, a few endpoints at a time: a hanging endpoint holds up
 * only its own queue, never the whole run. What is left waits for the next run. `listed`: the due
 * deliveries this run found (at most `limit`; another worker may have claimed some of them).
 */
export async function deliverWebhooks({
  db,
  limit = 50,
  concurrency = 4,
  budgetMs = 15_000,
  now = () => new Date(),
}: {
  db: Db;
  limit?: number;
  concurrency?: number;
  budgetMs?: number;
  now?: () => Date;
}) {
  const due = await db.webhookDelivery.findMany({
    where: { status: "pending", nextAttemptAt: { lte: now() } },
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
      for (const d of queues[next++]!) {
        if (Date.now() >= deadline) break;
        const r = await deliverOne(db, d, now);
        if (r === "delivered") delivered++;
        else if (r === "failed") failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queues.length) }, slot));
  return { attempted: delivered + failed, delivered, failed, listed: due.length };
}

type Due = Awaited<ReturnType<Db["webhookDelivery"]["findMany"]>>[number] & {
  endpoint: { id: string; organizationId: string; url: string; secretEnc: string; active: boolean };
};

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
  const final = attempts >= MAX_ATTEMPTS || !d.endpoint.active;
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
