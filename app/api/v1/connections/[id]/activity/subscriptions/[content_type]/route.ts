// DELETE /api/v1/connections/{id}/activity/subscriptions/{content_type} — lib/api/routes.ts (stopActivitySubscription)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const DELETE = nextApiHandler;
