// "A delivery was just queued": the delivery loop (lib/webhooks/run-webhook-delivery.ts) sends it now
// instead of at its next poll. In the portal child, which runs no loop, the signal goes to the front
// server over the fork channel (lib/ipc/portal-channel.ts); anywhere else without a loop it is dropped
// and the next poll finds the delivery.
import { env } from "@/lib/env";

// on globalThis: Next's bundle and the process's own modules must share one set
const g = globalThis as unknown as { __consentryWebhookQueued?: Set<() => void> };
const listeners = (g.__consentryWebhookQueued ??= new Set());

export const WEBHOOK_QUEUED = { consentry: "webhook-queued" } as const;

export function onWebhookQueued(fn: () => void): () => void {
  listeners.add(fn);
  return () => void listeners.delete(fn);
}

/** Whether a delivery loop runs in this process (it is the one listener). */
export const deliveryLoopRunning = () => listeners.size > 0;

export function notifyWebhookQueued() {
  if (listeners.size > 0) for (const fn of listeners) fn();
  else if (env().portalSocket && process.send && process.connected)
    process.send(WEBHOOK_QUEUED, undefined, {}, () => {});
}
