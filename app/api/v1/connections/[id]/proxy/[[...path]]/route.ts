// GET|POST|PUT|PATCH|DELETE /api/v1/connections/{id}/proxy/{path…} — lib/proxy/proxy-request.ts
import { nextProxyHandler } from "@/lib/api/next-handlers";

export const dynamic = "force-dynamic";
export const GET = nextProxyHandler;
export const POST = nextProxyHandler;
export const PUT = nextProxyHandler;
export const PATCH = nextProxyHandler;
export const DELETE = nextProxyHandler;
