// Fixed-window limits (points per duration, the window counted from a key's first use), kept by
// rate-limiter-flexible: in Redis when CONSENTRY_REDIS_URL is set, so that every instance counts
// against one budget, else in this process's memory. With Redis, the in-memory limiter is its
// insurance: while Redis is down or slow each process limits on its own, and no request fails.
//
// With Redis, the points that requests of one loop iteration take from one key are taken in one
// command (consume(key, n)), and each request is answered by its place in the count Redis returns:
// as exact as one command per request, at a fraction of the cost under load (every call of the token
// API takes a point from its key and from its organization).
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { redis, redisKey } from "@/lib/redis/client";

export function createLimiter({
  name,
  points,
  duration,
}: {
  /** names the counters (a Redis key prefix) */
  name: string;
  points: number;
  /** the window, in seconds */
  duration: number;
}): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix: name, points, duration });
  const client = redis();
  if (!client) return memory;
  return new RateLimiterRedis({
    storeClient: client,
    keyPrefix: redisKey("limit", name),
    points,
    duration,
    insuranceLimiter: memory,
    // not connected: straight to the insurance, instead of an error from the client
    rejectIfRedisNotReady: true,
    // a key past its limit is refused from this process's memory until its window ends, without asking Redis again
    inMemoryBlockOnConsumed: points + 1,
  });
}

/** What a request is told: null when it may go on, else the seconds until the window ends (at least 1). */
type Answer = (retryAfter: number | null) => void;

let pending = new Map<RateLimiterAbstract, Map<string, Answer[]>>();
let flushScheduled = false;

/**
 * Takes one point of `key`'s budget: null when the request may go on, else the seconds until the
 * window ends (at least 1). A store that fails (only possible without insurance) does not limit.
 */
export function takePoint(limiter: RateLimiterAbstract, key: string): Promise<number | null> {
  if (!(limiter instanceof RateLimiterRedis)) return take(limiter, key, 1).then((answers) => answers[0]!);
  return new Promise((resolve) => {
    let byKey = pending.get(limiter);
    if (!byKey) pending.set(limiter, (byKey = new Map()));
    const answers = byKey.get(key);
    if (answers) answers.push(resolve);
    else byKey.set(key, [resolve]);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  });
}

function flush() {
  const batch = pending;
  pending = new Map();
  flushScheduled = false;
  for (const [limiter, byKey] of batch)
    for (const [key, answers] of byKey)
      void take(limiter, key, answers.length).then((r) => answers.forEach((answer, i) => answer(r[i]!)));
}

/** `n` points of `key` in one consume: the answer for each, in order (the first ones fit in what was left). */
async function take(limiter: RateLimiterAbstract, key: string, n: number): Promise<Array<number | null>> {
  let res: RateLimiterRes;
  try {
    res = await limiter.consume(key, n);
  } catch (rejected) {
    if (!(rejected instanceof RateLimiterRes)) return Array<null>(n).fill(null);
    res = rejected;
  }
  const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  // refused from memory without a count (inMemoryBlockOnConsumed): every one of them
  if (res.consumedPoints === 0) return Array<number>(n).fill(retryAfter);
  const first = res.consumedPoints - n + 1;
  return Array.from({ length: n }, (_, i) => (first + i <= limiter.points ? null : retryAfter));
}

/** Gives back a point taken by takePoint (best effort: a store that fails keeps it until the window ends). */
export async function refundPoint(limiter: RateLimiterAbstract, key: string): Promise<void> {
  await limiter.reward(key).catch(() => undefined);
}
