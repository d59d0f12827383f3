// GET /api/v1/providers — lib/api/routes.ts (listProviders)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
