/** Retries before a connection is marked `error` (it keeps being retried, more slowly). */
export const MAX_QUICK_ATTEMPTS = 5;

/** Exponential backoff with full jitter: 30 s, 1 min, 2 min … capped at 1 h; Retry-After wins when longer. */
export function backoffMs(attempt: number, retryAfterSeconds?: number, random = Math.random): number {
  const ceiling = Math.min(3600_000, 30_000 * 2 ** Math.max(0, attempt - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
}
