// POST /api/cron/refresh — background refresh for schedulers (Kubernetes CronJob, Vercel Cron,
// systemd timers). Authorization: Bearer <CONSENTRY_CRON_SECRET>, compared in constant time. The
// production server answers this path itself (lib/server/main.ts); this route serves `next dev`.
import { db } from "@/lib/db/client";
import { runCronRefresh } from "@/lib/tokens/run-cron-refresh";

export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  const a = await runCronRefresh({ db: db(), authorization: request.headers.get("authorization") });
  return new Response(a.body, { status: a.status, headers: a.headers });
}
