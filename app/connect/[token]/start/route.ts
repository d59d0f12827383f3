// POST /connect/{token}/start — "Continue" on the hosted connect page: the session is used up, its
// connection created (or its own reused) and the browser sent to the provider. Rate-limited per
// address like a consent link's start.
import crypto from "node:crypto";
import { cookies } from "next/headers";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { startConsent } from "@/lib/consent/start-consent";
import { flowCookieName, flowCookieOptions } from "@/lib/consent/flow-cookie";
import { clientIp } from "@/lib/http/client-ip";
import { takeConsentStart } from "@/lib/limits/consent-start-limit";
import { startConnectSession } from "@/lib/connect-sessions/connect-session";
import { logger } from "@/lib/logger";

export const dynamic = "force-dynamic";

export async function POST(request: Request, { params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const mode = new URL(request.url).searchParams.get("mode") === "popup" ? "popup" : "redirect";
  const back = new Response(null, {
    status: 303,
    headers: {
      location: `${env().publicUrl}/connect/${encodeURIComponent(token)}${mode === "popup" ? "?mode=popup" : ""}`,
      "referrer-policy": "no-referrer",
    },
  });
  const ip = clientIp(request.headers);
  const retryAfter = await takeConsentStart(ip);
  if (retryAfter !== null) {
    return new Response("Too many attempts from this address. Wait a minute and try again.", {
      status: 429,
      headers: { "retry-after": String(retryAfter), "content-type": "text/plain; charset=utf-8" },
    });
  }
  let started: Awaited<ReturnType<typeof startConnectSession>>;
  try {
    started = await startConnectSession(db(), token, mode, ip);
  } catch (err) {
    // the session ended in error (recorded on it); its page now says so and tells the opener
    logger.warn({ err: { message: (err as Error).message } }, "connect session could not start");
    return back;
  }
  if (!started) return back;
  const browserSecret = crypto.randomBytes(32).toString("base64url");
  const { authorizationUrl } = await startConsent({
    db: db(),
    consentRequestId: started.consentRequestId,
    organizationId: started.organizationId,
    browserSecret,
    actor: { type: "anonymous", label: "connect session" },
    ip,
  });
  (await cookies()).set(flowCookieName(), browserSecret, flowCookieOptions());
  return new Response(null, {
    status: 303,
    headers: { location: authorizationUrl, "referrer-policy": "no-referrer", "cache-control": "no-store" },
  });
}
