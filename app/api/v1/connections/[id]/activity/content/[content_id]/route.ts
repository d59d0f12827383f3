// GET /api/v1/connections/{id}/activity/content/{content_id} — lib/api/routes.ts (downloadActivityContent)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
