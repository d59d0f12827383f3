// POST /api/v1/connections/{id}/consent-link — lib/api/routes.ts (createConsentLink)
import { nextApiHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const POST = nextApiHandler;
