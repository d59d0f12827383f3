// GET, DELETE /api/v1/connect-sessions/{id} — lib/api/routes.ts (getConnectSession, revokeConnectSession)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
export const DELETE = nextApiHandler;
