// POST /api/cron/refresh — background refresh for schedulers (Kubernetes CronJob, Vercel Cron,
// systemd timers). Authorization: Bearer <CONSENTRY_CRON_SECRET>, compared in constant time.
import { db } from "@/lib/db/client";
import { checkCronSecret } from "@/lib/http/cron-secret";
import { problemResponse } from "@/lib/errors";
import { refreshDue } from "@/lib/tokens/refresh-due";

export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  try {
    checkCronSecret(request.headers.get("authorization"));
    const summary = await refreshDue({ db: db() });
    return Response.json(summary, { headers: { "cache-control": "no-store" } });
  } catch (err) {
    return problemResponse(err);
  }
}
