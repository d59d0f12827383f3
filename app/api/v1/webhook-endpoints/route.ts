// GET, POST /api/v1/webhook-endpoints — lib/api/routes.ts (listWebhookEndpoints, createWebhookEndpoint)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextApiHandler;
export const POST = nextApiHandler;
