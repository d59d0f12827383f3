// The Redis that several instances share (CONSENTRY_REDIS_URL): rate limits, the app-only token cache,
// the API-key last-used throttle and refresh signals. One command connection per process, opened on
// first use (plus one for subscriptions, opened only when a waiter needs it). Every user has an
// in-process fallback, so Redis must never stall or fail a request: a command while disconnected fails
// at once (no offline queue), a connection attempt gives up after a second, a command after half a
// second, and a lost connection is retried in the background.
import { Redis, type RedisOptions } from "ioredis";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";

const OPTIONS: RedisOptions = {
  connectTimeout: 1000,
  commandTimeout: 500,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  // commands issued in the same tick (the API's two rate limits, concurrent requests) share one write
  enableAutoPipelining: true,
  retryStrategy: (times) => Math.min(100 * times, 2000),
};

// on globalThis: Next may load this module once per bundle, and a process gets one connection all the same
type State = { client?: Redis | null; subscriber?: Redis | null; errorLoggedAt: number; down: boolean };
const g = globalThis as unknown as { __consentryRedis?: State };
const state = (g.__consentryRedis ??= { errorLoggedAt: 0, down: false });
const ERROR_LOG_EVERY_MS = 60_000;

function watch(c: Redis, role: string) {
  c.on("error", (err: Error) => {
    state.down = true;
    if (Date.now() - state.errorLoggedAt < ERROR_LOG_EVERY_MS) return;
    state.errorLoggedAt = Date.now();
    logger.warn(
      { err: { message: err.message }, role },
      "Redis unavailable: limits and caches are per process until it is back",
    );
  });
  c.on("ready", () => {
    if (!state.down) return;
    state.down = false;
    logger.info({ role }, "Redis is back: limits and caches are shared again");
  });
  return c;
}

/** The shared command connection, or null when no Redis is configured. */
export function redis(): Redis | null {
  if (state.client !== undefined) return state.client;
  const url = env().redisUrl;
  return (state.client = url ? watch(new Redis(url, OPTIONS), "commands") : null);
}

/** A second connection for SUBSCRIBE (a subscribed connection takes no other commands), or null without Redis. */
export function redisSubscriber(): Redis | null {
  if (state.subscriber !== undefined) return state.subscriber;
  const c = redis();
  return (state.subscriber = c ? watch(c.duplicate(), "subscriber") : null);
}

/** A key or channel name of this deployment. */
export function redisKey(...parts: string[]): string {
  return env().redisPrefix + parts.join(":");
}

/**
 * Opens the command connection now and waits (at most `timeoutMs`) until it is ready, so that the
 * first requests of a new process already share limits. False when there is no Redis or it is not
 * reachable yet (the process starts anyway and uses its own memory until it is).
 */
export async function redisReady(timeoutMs = 2000): Promise<boolean> {
  const c = redis();
  if (!c) return false;
  if (c.status === "ready") return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(t);
      c.off("ready", onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const t = setTimeout(() => done(false), timeoutMs);
    c.on("ready", onReady);
  });
}

/** Closes both connections (shutdown, tests); the next use opens them again. */
export async function closeRedis(): Promise<void> {
  const all = [state.client, state.subscriber].filter((c): c is Redis => Boolean(c));
  state.client = state.subscriber = undefined;
  await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
}
