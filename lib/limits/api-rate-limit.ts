// The REST API's per-key and per-organization budgets (requests a minute, CONSENTRY_API_RATE_PER_KEY /
// _PER_ORG), shared by every instance through Redis when it is configured (lib/limits/limiter.ts).
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { createLimiter, refundPoint, takePoint } from "@/lib/limits/limiter";

let perKey: RateLimiterAbstract | undefined;
let perOrg: RateLimiterAbstract | undefined;

/** 429 when the key, or else its organization, has used its minute's budget; a call refused for its key does not count against its organization. */
export async function checkApiRateLimits({ keyId, organizationId }: { keyId: string; organizationId: string }) {
  const e = env();
  perKey ??= createLimiter({ name: "api-key", points: e.apiRatePerKey, duration: 60 });
  perOrg ??= createLimiter({ name: "api-org", points: e.apiRatePerOrg, duration: 60 });
  // both at once: with Redis, one round trip (the two commands share a write) instead of two in a row
  const [key, org] = await Promise.all([takePoint(perKey, keyId), takePoint(perOrg, organizationId)]);
  if (key !== null) {
    if (org === null) await refundPoint(perOrg, organizationId);
    throw limited(e.apiRatePerKey, "API key", key);
  }
  if (org !== null) throw limited(e.apiRatePerOrg, "organization", org);
}

function limited(limit: number, per: string, retryAfter: number) {
  return new AppError("rate-limited", `Rate limit reached (${limit} requests a minute per ${per}).`, { retryAfter });
}
