// POST /api/v1/connections/{id}/export — lib/api/routes.ts (exportConnection)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const POST = nextApiHandler;
