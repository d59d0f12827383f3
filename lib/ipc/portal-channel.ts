// Messages between the front server and its portal child (Next.js) over the channel `fork` opened
// (lib/server/portal.ts): the child's "a webhook was queued" signals, and the front asking the child
// for its metrics at each scrape (consent flows, the portal's own refreshes and process figures are
// recorded there). Every message is `{ consentry: <kind>, … }`; anything else is ignored.
import { metrics } from "@/lib/metrics/metrics";
import { WEBHOOK_QUEUED, notifyWebhookQueued } from "@/lib/webhooks/webhook-queued";

type TMessage =
  | typeof WEBHOOK_QUEUED
  | { consentry: "metrics-request"; id: number }
  | { consentry: "metrics-reply"; id: number; metrics: unknown[] | null };

const isMessage = (m: unknown): m is TMessage =>
  typeof m === "object" && m !== null && typeof (m as { consentry?: unknown }).consentry === "string";

const waiting = new Map<number, (metrics: unknown[] | null) => void>();
let nextId = 1;

/** Front server: what the portal child sent (wired as startPortal's onMessage). */
export function handlePortalMessage(m: unknown) {
  if (!isMessage(m)) return;
  if (m.consentry === "webhook-queued") notifyWebhookQueued();
  else if (m.consentry === "metrics-reply") waiting.get(m.id)?.(m.metrics);
}

/** Front server: the portal child's metrics (prom-client JSON), or null when it does not answer in time. */
export function askPortalMetrics(portal: { send(m: object): boolean }, timeoutMs = 2000): Promise<unknown[] | null> {
  const id = nextId++;
  return new Promise((resolve) => {
    const done = (v: unknown[] | null) => {
      clearTimeout(timer);
      waiting.delete(id);
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    waiting.set(id, done);
    if (!portal.send({ consentry: "metrics-request", id })) done(null);
  });
}

/** Portal child: answers the front server's requests. Called once at the child's start. */
export function answerFrontRequests() {
  metrics(); // the process figures (event loop, GC) are observed from the start, not from the first scrape
  process.on("message", (m: unknown) => {
    if (!isMessage(m) || m.consentry !== "metrics-request") return;
    const reply = (v: unknown[] | null) =>
      process.send?.({ consentry: "metrics-reply", id: m.id, metrics: v } satisfies TMessage, undefined, {}, () => {});
    const registry = metrics()?.registry;
    if (!registry) return reply(null);
    registry.getMetricsAsJSON().then(reply, () => reply(null));
  });
}
