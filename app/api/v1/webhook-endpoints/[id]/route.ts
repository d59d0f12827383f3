// DELETE /api/v1/webhook-endpoints/{id} — lib/api/routes.ts (deleteWebhookEndpoint)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const DELETE = nextApiHandler;
