// GET /api/health — liveness: 200 whenever the process answers, with `status` ok | degraded and the
// `reasons` (database, migrations, background work overdue). Readiness is /api/health/ready.
import { checkHealth } from "@/lib/health/check-health";

export const dynamic = "force-dynamic";

export async function GET() {
  return Response.json(await checkHealth(), { status: 200, headers: { "cache-control": "no-store" } });
}
