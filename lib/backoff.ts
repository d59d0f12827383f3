// Retry spacing shared by everything that calls out and may be refused: token refreshes and webhook
// deliveries back off the same way, so one policy lives here rather than in either of them.

/**
 * Exponential backoff with equal jitter: a ceiling of 30 s, 1 min, 2 min … capped at 1 h, and a wait
 * between half and all of it, so retries after a shared outage spread out instead of arriving
 * together. Retry-After wins when longer.
 */
export function backoffMs(attempt: number, retryAfterSeconds?: number, random = Math.random): number {
  const ceiling = Math.min(3600_000, 30_000 * 2 ** Math.max(0, attempt - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
}
