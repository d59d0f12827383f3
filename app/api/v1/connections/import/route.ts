// POST /api/v1/connections/import — lib/api/routes.ts (importConnection)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const POST = nextApiHandler;
