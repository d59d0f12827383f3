import crypto from "node:crypto";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

/** Throws unless `authorization` is "Bearer <CONSENTRY_CRON_SECRET>"; constant-time, no length leak. */
export function checkCronSecret(authorization: string | null) {
  const secret = env().cronSecret;
  // off by configuration, not for a while: a 404 (a 503 would tell schedulers to retry, and no input gets a 5xx)
  if (!secret) throw new AppError("not-found", "The refresh route is off: set CONSENTRY_CRON_SECRET to use it.");
  const given = authorization?.startsWith("Bearer ") ? authorization.slice(7) : "";
  const a = crypto.createHash("sha256").update(given).digest();
  const b = crypto.createHash("sha256").update(secret).digest();
  if (!crypto.timingSafeEqual(a, b) || given.length === 0)
    throw new AppError("unauthorized", "A valid cron secret is required (Authorization: Bearer …).");
}
