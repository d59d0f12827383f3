// POST /api/v1/connections/{id}/test — lib/api/routes.ts (testConnection)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const POST = nextApiHandler;
