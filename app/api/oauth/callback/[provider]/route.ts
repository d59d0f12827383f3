// GET /api/oauth/callback/{provider} — the one callback for every provider (admin consent included).
// Answers 303 to a clean result page; the outcome travels in a short-lived signed cookie.
import { cookies } from "next/headers";
import { db } from "@/lib/db/client";
import { completeConsent } from "@/lib/consent/complete-consent";
import { flowCookieName } from "@/lib/consent/flow-cookie";
import { consentResultResponse } from "@/lib/consent/consent-result-response";
import { clientIp } from "@/lib/http/client-ip";

export const dynamic = "force-dynamic";

export async function GET(request: Request, { params }: { params: Promise<{ provider: string }> }) {
  const { provider } = await params;
  const jar = await cookies();
  const outcome = await completeConsent({
    db: db(),
    providerId: provider,
    params: new URL(request.url).searchParams,
    browserSecret: jar.get(flowCookieName())?.value,
    ip: clientIp(request.headers),
  });
  return consentResultResponse(outcome);
}
