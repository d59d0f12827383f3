import type { TProvider } from "@/lib/providers/schema";

/** Refresh this long before the access token expires. */
export const REFRESH_WINDOW_MS = 10 * 60_000;

/** Retries before a connection is marked `error` (it keeps being retried, more slowly). */
export const MAX_QUICK_ATTEMPTS = 5;

/**
 * When the background refresh should next look at a connection: before the access token expires
 * (if it can be refreshed), before a refresh token with a known lifetime lapses, and at least every
 * keep-alive period so idle refresh tokens (Microsoft: 90 days unused) never die.
 */
export function nextRefreshAt({
  provider,
  expiresAt,
  refreshTokenExpiresAt,
  hasRefreshToken,
  now = new Date(),
}: {
  provider: TProvider;
  expiresAt: Date;
  refreshTokenExpiresAt: Date | null;
  hasRefreshToken: boolean;
  now?: Date;
}): Date | null {
  const candidates: number[] = [];
  if (hasRefreshToken) {
    candidates.push(expiresAt.getTime() - REFRESH_WINDOW_MS);
    if (refreshTokenExpiresAt)
      candidates.push(
        refreshTokenExpiresAt.getTime() -
          Math.min(7 * 86400_000, (refreshTokenExpiresAt.getTime() - now.getTime()) / 2),
      );
    candidates.push(now.getTime() + 7 * 86400_000);
  } else if (provider.appOnly) {
    candidates.push(
      Math.min(expiresAt.getTime() - REFRESH_WINDOW_MS, now.getTime() + provider.appOnly.intervalSeconds * 1000),
    );
  }
  if (candidates.length === 0) return null;
  return new Date(Math.max(now.getTime(), Math.min(...candidates)));
}
