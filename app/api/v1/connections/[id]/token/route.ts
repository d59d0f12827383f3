// POST /api/v1/connections/{id}/token — lib/api/routes.ts (getToken)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const POST = nextApiHandler;
