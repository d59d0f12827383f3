// GET, POST /api/v1/connections — lib/api/routes.ts (listConnections, createConnection)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
export const POST = nextApiHandler;
