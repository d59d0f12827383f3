// POST /consent/{token}/start — the tenant admin pressed "Continue": start the flow and send the
// browser to the provider. Rate-limited per address (each start writes a state).
import crypto from "node:crypto";
import { cookies } from "next/headers";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { findOpenConsentLink, startConsent } from "@/lib/consent/start-consent";
import { flowCookieName, flowCookieOptions } from "@/lib/consent/flow-cookie";
import { clientIp } from "@/lib/http/client-ip";
import { takeConsentStart } from "@/lib/limits/consent-start-limit";

export const dynamic = "force-dynamic";

export async function POST(request: Request, { params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const ip = clientIp(request.headers);
  const retryAfter = await takeConsentStart(ip);
  if (retryAfter !== null) {
    return new Response("Too many attempts from this address. Wait a minute and try again.", {
      status: 429,
      headers: { "retry-after": String(retryAfter), "content-type": "text/plain; charset=utf-8" },
    });
  }
  const link = await findOpenConsentLink({ db: db(), token });
  if (!link)
    return new Response(null, {
      status: 303,
      headers: {
        location: `${env().publicUrl}/consent/${encodeURIComponent(token)}`,
        "referrer-policy": "no-referrer",
      },
    });
  const browserSecret = crypto.randomBytes(32).toString("base64url");
  const { authorizationUrl } = await startConsent({
    db: db(),
    consentRequestId: link.id,
    organizationId: link.organizationId,
    browserSecret,
    actor: { type: "anonymous", label: "tenant admin" },
    ip,
  });
  (await cookies()).set(flowCookieName(), browserSecret, flowCookieOptions());
  return new Response(null, {
    status: 303,
    headers: { location: authorizationUrl, "referrer-policy": "no-referrer", "cache-control": "no-store" },
  });
}
