// Sends due webhook deliveries: each claimed atomically (so two workers never send one twice),
// signed, retried with backoff up to MAX_ATTEMPTS, every attempt kept in the delivery log.
import type { Db } from "@/lib/db/client";
import { decryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { EgressError, egressFetch } from "@/lib/oauth/egress";
import { backoffMs } from "@/lib/tokens/backoff";
import { SIGNATURE_HEADER, signWebhook } from "@/lib/webhooks/signature";

export const MAX_ATTEMPTS = 8;

export async function deliverWebhooks({ db, limit = 50, now = () => new Date() }: { db: Db; limit?: number; now?: () => Date }) {
  const due = await db.webhookDelivery.findMany({ where: { status: "pending", nextAttemptAt: { lte: now() } }, orderBy: { nextAttemptAt: "asc" }, take: limit, include: { endpoint: true } });
  let delivered = 0;
  let failed = 0;
  for (const d of due) {
    // Claim: push nextAttemptAt forward; only the worker whose update matched sends.
    const claim = await db.webhookDelivery.updateMany({ where: { id: d.id, status: "pending", nextAttemptAt: d.nextAttemptAt }, data: { nextAttemptAt: new Date(now().getTime() + 60_000) } });
    if (claim.count !== 1) continue;
    const attempts = d.attempts + 1;
    let statusCode: number | null = null;
    let error: string | null = null;
    if (!d.endpoint.active) error = "endpoint disabled";
    else {
      try {
        const secret = decryptSecret(d.endpoint.secretEnc, contextFor("WebhookEndpoint", d.endpoint, "secretEnc"));
        const res = await egressFetch(d.endpoint.url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "Consentry-Webhooks/1", [SIGNATURE_HEADER]: signWebhook(secret, d.payload), "consentry-event": d.eventType, "consentry-delivery": d.id },
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
      await db.webhookDelivery.update({ where: { id: d.id }, data: { status: "delivered", attempts, lastStatusCode: statusCode, lastError: null, deliveredAt: now() } });
      delivered++;
    } else {
      const final = attempts >= MAX_ATTEMPTS || !d.endpoint.active;
      await db.webhookDelivery.update({
        where: { id: d.id },
        data: { status: final ? "failed" : "pending", attempts, lastStatusCode: statusCode, lastError: error, nextAttemptAt: new Date(now().getTime() + backoffMs(attempts)) },
      });
      failed++;
    }
  }
  return { attempted: due.length, delivered, failed };
}
