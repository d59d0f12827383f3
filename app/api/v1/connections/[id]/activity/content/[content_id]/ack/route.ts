// POST /api/v1/connections/{id}/activity/content/{content_id}/ack — lib/api/routes.ts (ackActivityContent)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const POST = nextApiHandler;
