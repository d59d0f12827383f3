// Webhook delivery on its own loop, independent of the refresh scheduler: every `pollMs`, and at once
// when this process queues an event (or its portal child does: lib/webhooks/webhook-queued.ts), so an
// event reaches its endpoint seconds after it happened. Several instances run it side by side: each
// delivery is claimed atomically before it is sent (lib/webhooks/deliver-webhooks.ts).
//
// A pass only sends what was due when it started, and may last up to its budget plus one request's
// timeout (15 + 10 s) while an endpoint hangs. An event queued meanwhile for another endpoint used to
// wait for that pass to end ("Pending, 0 attempts" for 16–29 s): now a nudge during a pass starts a
// pass of its own at once, for the endpoints the running passes are not serving (each endpoint's events
// stay in order: one pass at a time sends to it).
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import { deliverWebhooks } from "@/lib/webhooks/deliver-webhooks";
import { onWebhookQueued } from "@/lib/webhooks/webhook-queued";

export const WEBHOOK_POLL_MS = 1000;
const BATCH = 50;
/** passes started by nudges while the loop's own pass runs (each one serves only idle endpoints) */
const MAX_NUDGED_PASSES = 4;

export function startWebhookDelivery({ db, pollMs = WEBHOOK_POLL_MS }: { db: Db; pollMs?: number }) {
  let stopped = false;
  let nudged = false;
  let wake: (() => void) | null = null;
  let passRunning = false;
  /** endpoints some pass of this loop is sending to right now */
  const busy = new Set<string>();
  const nudgedPasses = new Set<Promise<void>>();
  let failing = false;
  const report = (r: Awaited<ReturnType<typeof deliverWebhooks>>) => {
    if (r.attempted) logger.debug({ webhooks: r }, "webhooks delivered");
    if (failing) logger.info("webhook delivery works again");
    failing = false;
  };
  const fail = (err: unknown) => {
    // a database that is away: said once, not every poll; the deliveries wait in their table
    if (!failing) logger.warn({ err: { message: (err as Error).message } }, "webhook delivery failed; retrying");
    failing = true;
  };
  const unsubscribe = onWebhookQueued(() => {
    nudged = true;
    wake?.();
    if (!passRunning || stopped || nudgedPasses.size >= MAX_NUDGED_PASSES) return;
    const pass: Promise<void> = deliverWebhooks({ db, limit: BATCH, busy })
      .then(report, fail)
      .finally(() => nudgedPasses.delete(pass));
    nudgedPasses.add(pass);
  });
  const loop = (async () => {
    while (!stopped) {
      nudged = false;
      let full = false;
      passRunning = true;
      try {
        const r = await deliverWebhooks({ db, limit: BATCH, busy });
        // a full batch: more may be due right now
        full = r.listed >= BATCH;
        report(r);
      } catch (err) {
        fail(err);
      } finally {
        passRunning = false;
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
      await Promise.all(nudgedPasses);
    },
  };
}
