// Next route handlers for /api/v1: adapt the Web Request to handleApiRequest. (The production
// server answers /api/v1 itself before Next sees it; these serve `next dev` and any other host.)
import { db } from "@/lib/db/client";
import { clientIp } from "@/lib/http/client-ip";
import { handleApiRequest } from "@/lib/api/handle-api-request";

export async function nextApiHandler(request: Request): Promise<Response> {
  const body = request.method === "GET" || request.method === "DELETE" ? null : await request.text();
  const res = await handleApiRequest(db(), {
    method: request.method,
    url: new URL(request.url),
    headers: request.headers,
    body,
    ip: clientIp(request.headers),
  });
  return new Response(res.body, { status: res.status, headers: res.headers });
}
