// GET /api/v1/oauth-apps — lib/api/routes.ts (listOAuthApps)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
