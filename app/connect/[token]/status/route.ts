// GET /connect/{token}/status — the browser script's fallback when no message arrives (an opener lost
// to a provider's Cross-Origin-Opener-Policy, say): the session's result, readable cross-origin by
// the session's allowed origins only. The token is the capability; nothing secret is in the answer.
import { db } from "@/lib/db/client";
import { connectStatusResponse } from "@/lib/connect-sessions/connect-session";

export const dynamic = "force-dynamic";

export async function GET(request: Request, { params }: { params: Promise<{ token: string }> }) {
  return connectStatusResponse(db(), (await params).token, request.headers.get("origin"));
}
