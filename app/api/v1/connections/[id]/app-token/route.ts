// POST /api/v1/connections/{id}/app-token — lib/api/routes.ts (getAppToken)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const POST = nextApiHandler;
