// Consent starts per client address (each start writes a state row): 30 a minute, shared by every
// instance through Redis when it is configured (lib/limits/limiter.ts).
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { createLimiter, takePoint } from "@/lib/limits/limiter";

export const CONSENT_STARTS_PER_MINUTE = 30;

let limiter: RateLimiterAbstract | undefined;

/** null when `ip` may start another consent flow, else the seconds to wait. */
export async function takeConsentStart(ip: string | null): Promise<number | null> {
  limiter ??= createLimiter({ name: "consent-start", points: CONSENT_STARTS_PER_MINUTE, duration: 60 });
  return takePoint(limiter, ip ?? "unknown");
}
