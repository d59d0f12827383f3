// GET, PATCH, DELETE /api/v1/connections/{id} — lib/api/routes.ts (getConnection, updateConnection, deleteConnection)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
export const PATCH = nextApiHandler;
export const DELETE = nextApiHandler;
