// Failed API-key authentication, limited per client address (SECURITY 45): after
// CONSENTRY_API_AUTH_FAILURES_PER_IP failures (401) within CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS
// of the first one, every request from that address gets 429 before anything reads the database,
// until the window has passed. The counters are a rate-limiter-flexible store (lib/limits/limiter.ts):
// Redis shared by every instance when it is configured, this process's memory otherwise or while it is down.
//
// The check before each request reads only this process's memory, never Redis (a round trip on every
// call of the token API for the rare locked-out address would cost it ~10% of its throughput): the
// instance that counts the failure starting a lockout announces it to the others over pub/sub, and
// an instance that missed the announcement learns of it at that address's next failure there.
//
// Concurrent requests each pass the check before the first of them is counted, so one address can
// cause at most N + (its requests in flight) key lookups a window, not N (and, with several
// instances, at most one more per instance that missed the announcement).
import ipaddr from "ipaddr.js";
import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { createLimiter } from "@/lib/limits/limiter";
import { redisKey } from "@/lib/redis/client";
import { publish, subscribe } from "@/lib/redis/pubsub";

let store: RateLimiterAbstract | null = null;
let storeErrorLoggedAt = 0;
/** locked-out clients of every instance that this one knows of → end of the lockout (epoch ms) */
const locked = new Map<string, number>();
const MAX_LOCKED = 100_000;
let following = false;

function limiter(): RateLimiterAbstract {
  return (store ??= createLimiter({
    name: "api-auth-failures",
    points: env().apiAuthFailuresPerIp,
    duration: env().apiAuthFailureWindowSeconds,
  }));
}

/** Puts the counters in another store (points = failures allowed, duration = the window); null: a fresh one from the configuration. */
export function setAuthFailureStore(s: RateLimiterAbstract | null) {
  store = s;
  locked.clear();
}

function lockLocally(client: string, ms: number) {
  if (ms <= 0) return;
  if (locked.size >= MAX_LOCKED) {
    const now = Date.now();
    for (const [c, until] of locked) if (until <= now) locked.delete(c);
    // still full: the oldest lockouts go first (a Map iterates in insertion order)
    for (const c of locked.keys()) if (locked.size >= MAX_LOCKED) locked.delete(c);
  }
  locked.set(client, Date.now() + ms);
}

const lockoutChannel = () => redisKey("auth-lockout");

/** Lockouts counted by other instances, from the first check on (and again after every reconnect). */
function followLockouts() {
  if (following) return;
  following = true;
  void subscribe(
    lockoutChannel(),
    (message) => {
      try {
        const m = JSON.parse(message) as { client: unknown; ms: unknown };
        if (typeof m.client === "string" && typeof m.ms === "number") lockLocally(m.client, m.ms);
      } catch {
        // not one of ours
      }
    },
    { keep: true },
  );
}

function lockAndAnnounce(client: string, ms: number) {
  lockLocally(client, ms);
  publish(lockoutChannel(), JSON.stringify({ client, ms }));
}

// An unreachable shared store must not take the API down with it: the limit is skipped, loudly but not once per request.
function storeFailed(err: unknown) {
  if (Date.now() - storeErrorLoggedAt < 60_000) return;
  storeErrorLoggedAt = Date.now();
  logger.error(
    { err: { message: (err as Error)?.message ?? String(err) } },
    "the failed-authentication limit's store failed: not limiting meanwhile",
  );
}

/**
 * What the limit counts against for a request from `ip`: an IPv4 address (IPv4-mapped IPv6 included)
 * as is, an IPv6 address by its /64 (a subscriber is usually given a whole /64, so counting single
 * addresses would give one client 2^64 budgets). Without a known address (a host that does not pass
 * one in) every such request shares one budget: limiting them together beats not limiting them.
 */
export function authFailureClient(ip: string | null): string {
  if (!ip) return "unknown";
  const bare = ip.replace(/%.*$/, ""); // a zone id names the local interface, not the peer
  if (!ipaddr.isValid(bare)) return ip;
  const addr = ipaddr.parse(bare);
  if (addr.kind() === "ipv4") return addr.toString();
  const v6 = addr as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${bare}/64`).toString()}/64`;
}

/** The 429 for a client that has used up its failed authentications, or null when it may go on. Reads no database, and no Redis. */
export async function authLockout(client: string): Promise<AppError | null> {
  followLockouts();
  const until = locked.get(client);
  if (until === undefined) return null;
  const ms = until - Date.now();
  if (ms <= 0) {
    locked.delete(client);
    return null;
  }
  const l = limiter();
  const retryAfter = Math.max(1, Math.ceil(ms / 1000));
  const message = `Too many failed authentications from this address (${l.points} within ${l.duration} s). Try again in ${retryAfter} s.`;
  return new AppError("rate-limited", message, { retryAfter });
}

/** Counts one failed authentication of `client`; true when it is the one that locks the client out. */
export async function countAuthFailure(client: string): Promise<boolean> {
  const l = limiter();
  try {
    const res = await l.consume(client);
    if (res.consumedPoints < l.points) return false;
    lockAndAnnounce(client, res.msBeforeNext);
    return res.consumedPoints === l.points;
  } catch (res) {
    // a rejection with a result means "over the limit already": counted, and the lockout began earlier
    // (perhaps counted by another instance, whose announcement this one missed)
    if (res instanceof RateLimiterRes) lockAndAnnounce(client, res.msBeforeNext);
    else storeFailed(res);
    return false;
  }
}
