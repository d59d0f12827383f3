// GET|POST /api/v1/connections/{id}/activity/subscriptions — lib/api/routes.ts (listActivitySubscriptions, startActivitySubscriptions)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
export const POST = nextApiHandler;
