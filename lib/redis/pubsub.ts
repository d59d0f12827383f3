// Messages between instances over Redis pub/sub (when it is configured): one subscriber connection per
// process, a table of who listens to which channel. Delivery is best effort: every user has another
// way to learn the same thing (polling, or its own next request), a message only makes it sooner.
import type { Redis } from "ioredis";
import { redis, redisSubscriber } from "@/lib/redis/client";

type Handler = (message: string) => void;
/** `subscribed`: the SUBSCRIBE in flight or done (true) or failed (false); null while none was possible */
type Channel = { handlers: Set<Handler>; subscribed: Promise<boolean> | null };
// on globalThis, like the connection: one table per process
type State = { channels: Map<string, Channel>; wired: boolean };
const g = globalThis as unknown as { __consentryPubSub?: State };
const state = (g.__consentryPubSub ??= { channels: new Map(), wired: false });

function subscribeNow(sub: Redis, name: string, ch: Channel) {
  ch.subscribed = sub.subscribe(name).then(
    () => true,
    () => {
      ch.subscribed = null;
      return false;
    },
  );
}

function wire(sub: Redis) {
  if (state.wired) return;
  state.wired = true;
  sub.on("message", (channel: string, message: string) => {
    for (const h of state.channels.get(channel)?.handlers ?? []) h(message);
  });
  // channels that could not be subscribed while the connection was away are subscribed once it is back
  sub.on("ready", () => {
    for (const [name, ch] of state.channels) if (!ch.subscribed) subscribeNow(sub, name, ch);
  });
}

/** Sends `message` to every instance listening on `channel` (this one included); nothing without Redis or while it is away. */
export function publish(channel: string, message: string): void {
  const c = redis();
  if (!c || c.status !== "ready") return;
  c.publish(channel, message).catch(() => undefined);
}

/**
 * Calls `handler` with every message on `channel` until the returned function is called. Resolves
 * once the subscription is in place (messages published after that are delivered), or with null
 * without Redis or while it cannot subscribe. `keep`: a subscription that is taken up again whenever
 * the connection comes back, instead of null when it cannot be made now.
 */
export async function subscribe(
  channel: string,
  handler: Handler,
  { keep = false }: { keep?: boolean } = {},
): Promise<(() => void) | null> {
  const sub = redisSubscriber();
  if (!sub || (!keep && sub.status !== "ready")) return null;
  wire(sub);
  let ch = state.channels.get(channel);
  if (!ch) {
    ch = { handlers: new Set(), subscribed: null };
    state.channels.set(channel, ch);
  }
  const entry = ch;
  if (!entry.subscribed && sub.status === "ready") subscribeNow(sub, channel, entry);
  entry.handlers.add(handler);
  const unsubscribe = () => {
    if (!entry.handlers.delete(handler) || entry.handlers.size || state.channels.get(channel) !== entry) return;
    state.channels.delete(channel);
    if (sub.status === "ready") sub.unsubscribe(channel).catch(() => undefined);
  };
  if (keep || (await entry.subscribed)) return unsubscribe;
  unsubscribe();
  return null;
}
