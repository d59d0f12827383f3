// Refresh grants per connection within a provider's own limit (the catalogue's `refreshLimit`), shared
// by every instance through Redis when it is configured (lib/limits/limiter.ts): a refresh beyond it
// would only earn an error and a lockout at the provider, so it is not sent.
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import type { TProvider } from "@/lib/providers/schema";
import { createLimiter, takePoint } from "@/lib/limits/limiter";

const limiters = new Map<string, RateLimiterAbstract>();

/** null when a refresh grant for this connection may be sent now, else the seconds until one may. */
export async function takeProviderRefresh(provider: TProvider, connectionId: string): Promise<number | null> {
  const limit = provider.refreshLimit;
  if (!limit) return null;
  let limiter = limiters.get(provider.id);
  if (!limiter) {
    limiter = createLimiter({
      name: `provider-refresh:${provider.id}`,
      points: limit.max,
      duration: limit.windowSeconds,
    });
    limiters.set(provider.id, limiter);
  }
  return takePoint(limiter, connectionId);
}
