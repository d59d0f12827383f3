// Failed API-key authentication, limited per client address (SECURITY 45): after
// CONSENTRY_API_AUTH_FAILURES_PER_IP failures (401) within CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS
// of the first one, every request from that address gets 429 before anything reads the database,
// until the window has passed. The counters are a rate-limiter-flexible store: this process's memory
// by default; a shared one (RateLimiterRedis, for several instances) goes in through setAuthFailureStore.
//
// Concurrent requests each pass the check before the first of them is counted, so one address can
// cause at most N + (its requests in flight) key lookups a window, not N.
import ipaddr from "ipaddr.js";
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";

let store: RateLimiterAbstract | null = null;
let storeErrorLoggedAt = 0;

function limiter(): RateLimiterAbstract {
  return (store ??= new RateLimiterMemory({
    keyPrefix: "api-auth-failures",
    points: env().apiAuthFailuresPerIp,
    duration: env().apiAuthFailureWindowSeconds,
  }));
}

/** Puts the counters in another store (points = failures allowed, duration = the window); null: a fresh in-memory one from the configuration. */
export function setAuthFailureStore(s: RateLimiterAbstract | null) {
  store = s;
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

/** The 429 for a client that has used up its failed authentications, or null when it may go on. Reads no database. */
export async function authLockout(client: string): Promise<AppError | null> {
  const l = limiter();
  let res: RateLimiterRes | null;
  try {
    res = await l.get(client);
  } catch (err) {
    storeFailed(err);
    return null;
  }
  if (!res || res.consumedPoints < l.points || res.msBeforeNext <= 0) return null;
  const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  const message = `Too many failed authentications from this address (${l.points} within ${l.duration} s). Try again in ${retryAfter} s.`;
  return new AppError("rate-limited", message, { retryAfter });
}

/** Counts one failed authentication of `client`; true when it is the one that locks the client out. */
export async function countAuthFailure(client: string): Promise<boolean> {
  const l = limiter();
  try {
    return (await l.consume(client)).consumedPoints === l.points;
  } catch (res) {
    // a rejection with a result means "over the limit already": counted, and the lockout began earlier
    if (!(res instanceof RateLimiterRes)) storeFailed(res);
    return false;
  }
}
