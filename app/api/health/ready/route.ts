// GET /api/health/ready — readiness for load balancers: 503 while the database cannot be reached or
// migrations are pending. Overdue background work alone keeps it 200: it is shared by every instance,
// and taking them all out of rotation would stop the token API too (see README, "Health and metrics").
import { checkHealth } from "@/lib/health/check-health";

export const dynamic = "force-dynamic";

export async function GET() {
  const health = await checkHealth();
  return Response.json(health, { status: health.ready ? 200 : 503, headers: { "cache-control": "no-store" } });
}
