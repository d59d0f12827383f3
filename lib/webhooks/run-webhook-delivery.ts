// Webhook delivery on its own loop, independent of the refresh scheduler: every `pollMs`, and at once
// when this process queues an event (or its portal child does: lib/webhooks/webhook-queued.ts), so an
// event reaches its endpoint seconds after it happened. Several instances run it side by side: each
// delivery is claimed atomically before it is sent (lib/webhooks/deliver-webhooks.ts).
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import { deliverWebhooks } from "@/lib/webhooks/deliver-webhooks";
import { onWebhookQueued } from "@/lib/webhooks/webhook-queued";

export const WEBHOOK_POLL_MS = 1000;
const BATCH = 50;

export function startWebhookDelivery({ db, pollMs = WEBHOOK_POLL_MS }: { db: Db; pollMs?: number }) {
  let stopped = false;
  let nudged = false;
  let wake: (() => void) | null = null;
  const unsubscribe = onWebhookQueued(() => {
    nudged = true;
    wake?.();
  });
  let failing = false;
  const loop = (async () => {
    while (!stopped) {
      nudged = false;
      let full = false;
      try {
        const r = await deliverWebhooks({ db, limit: BATCH });
        // a full batch: more may be due right now
        full = r.listed >= BATCH;
        if (r.attempted) logger.debug({ webhooks: r }, "webhooks delivered");
        if (failing) logger.info("webhook delivery works again");
        failing = false;
      } catch (err) {
        // a database that is away: said once, not every poll; the deliveries wait in their table
        if (!failing) logger.warn({ err: { message: (err as Error).message } }, "webhook delivery failed; retrying");
        failing = true;
      }
      if (stopped || full || nudged) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  })();
  return {
    /** stops polling; resolves once the deliveries in flight have finished */
    async stop() {
      stopped = true;
      unsubscribe();
      wake?.();
      await loop;
    },
  };
}
