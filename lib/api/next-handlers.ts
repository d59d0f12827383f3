// Next route handlers for /api/v1: adapt the Web Request to handleApiRequest. (The production
// server answers /api/v1 itself before Next sees it; these serve `next dev` and any other host.)
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { db } from "@/lib/db/client";
import { clientIp } from "@/lib/http/client-ip";
import { handleApiRequest } from "@/lib/api/handle-api-request";
import { handleProxyRequest } from "@/lib/proxy/proxy-request";

export async function nextApiHandler(request: Request): Promise<Response> {
  const body = request.method === "GET" || request.method === "DELETE" ? null : await request.text();
  const res = await handleApiRequest(db(), {
    method: request.method,
    url: new URL(request.url),
    headers: request.headers,
    body,
    ip: clientIp(request.headers),
  });
  const out = typeof res.body === "string" ? res.body : (Readable.toWeb(res.body) as ReadableStream<Uint8Array>);
  return new Response(out, { status: res.status, headers: res.headers });
}

/** The provider proxy under `next dev`: the Web streams adapted to the Node streams lib/proxy works with. */
export async function nextProxyHandler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const out = await handleProxyRequest(db(), {
    method: request.method,
    target: `${url.pathname}${url.search}`,
    headers: [...request.headers],
    body: request.body ? Readable.fromWeb(request.body as WebReadableStream<Uint8Array>) : null,
    ip: clientIp(request.headers),
  });
  const headers = new Headers();
  for (const [k, v] of Object.entries(out.headers)) for (const one of [v].flat()) headers.append(k, one);
  if (typeof out.body !== "string" && (out.status === 204 || out.status === 304)) {
    out.body.destroy();
    return new Response(null, { status: out.status, headers });
  }
  const body = typeof out.body === "string" ? out.body : (Readable.toWeb(out.body) as ReadableStream<Uint8Array>);
  return new Response(body, { status: out.status, headers });
}
