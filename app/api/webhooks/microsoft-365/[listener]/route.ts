// POST /api/webhooks/microsoft-365/{listener id} — lib/activity/listener.ts (the production server answers it itself)
import { db } from "@/lib/db/client";
import { clientIp } from "@/lib/http/client-ip";
import { handleActivityWebhook, LISTENER_MAX_BODY } from "@/lib/activity/listener";

export const dynamic = "force-dynamic";

export async function POST(request: Request, { params }: { params: Promise<{ listener: string }> }) {
  const text = await request.text();
  const res = await handleActivityWebhook(db(), {
    listenerId: (await params).listener,
    headers: request.headers,
    body: Buffer.byteLength(text) > LISTENER_MAX_BODY ? null : text,
    ip: clientIp(request.headers),
  });
  return new Response(res.body, { status: res.status, headers: res.headers });
}
