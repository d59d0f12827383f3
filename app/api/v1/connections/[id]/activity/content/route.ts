// GET /api/v1/connections/{id}/activity/content — lib/api/routes.ts (listActivityContent)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
