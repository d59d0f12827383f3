// POST /api/cron/refresh, whoever receives it (the production server itself, or the Next route under
// `next dev`): the cron secret, then one refresh run, answered with its summary as JSON. Where no
// webhook delivery loop runs (`next dev`), the call also delivers the webhooks that are due.
import type { Db } from "@/lib/db/client";
import { asAppError, toProblem } from "@/lib/errors";
import { checkCronSecret } from "@/lib/http/cron-secret";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { logger } from "@/lib/logger";
import { deliverWebhooks } from "@/lib/webhooks/deliver-webhooks";
import { deliveryLoopRunning } from "@/lib/webhooks/webhook-queued";

export type CronAnswer = { status: number; headers: Record<string, string>; body: string };

export async function runCronRefresh({
  db,
  authorization,
}: {
  db: Db;
  authorization: string | null;
}): Promise<CronAnswer> {
  try {
    checkCronSecret(authorization);
    const refreshed = await refreshDue({ db });
    const summary = deliveryLoopRunning() ? refreshed : { ...refreshed, webhooks: await deliverWebhooks({ db }) };
    return {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
      body: JSON.stringify(summary),
    };
  } catch (err) {
    const e = asAppError(err);
    if (e.code === "internal")
      logger.error({ err: { message: (err as Error).message, stack: (err as Error).stack } }, "cron refresh failed");
    const headers: Record<string, string> = { "content-type": "application/problem+json", "cache-control": "no-store" };
    if (e.retryAfter !== undefined) headers["retry-after"] = String(Math.ceil(e.retryAfter));
    return { status: e.status, headers, body: JSON.stringify(toProblem(e)) };
  }
}
