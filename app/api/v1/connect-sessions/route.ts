// POST /api/v1/connect-sessions — lib/api/routes.ts (createConnectSession)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const POST = nextApiHandler;
