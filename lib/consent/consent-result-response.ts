import { cookies } from "next/headers";
import { env } from "@/lib/env";
import type { ConsentOutcome } from "@/lib/consent/complete-consent";
import { flowCookieName } from "@/lib/consent/flow-cookie";
import { RESULT_COOKIE, signConsentResult } from "@/lib/consent/result-cookie";

/** 303 to the clean result URL, with the outcome in a signed cookie and the flow cookie cleared. */
export async function consentResultResponse(outcome: ConsentOutcome, to = "/consent/result"): Promise<Response> {
  const jar = await cookies();
  const secure = env().publicUrl.startsWith("https://");
  jar.set(
    RESULT_COOKIE,
    await signConsentResult(
      outcome.ok
        ? {
            ok: true,
            organizationName: outcome.organizationName,
            providerName: outcome.providerName,
            connectionName: outcome.connectionName,
            tenantId: outcome.tenantId,
            tenantLabel: outcome.tenantLabel,
            returnTo: outcome.returnTo ?? undefined,
            connect: outcome.connect,
          }
        : {
            ok: false,
            reason: outcome.reason,
            organizationName: outcome.organizationName,
            providerName: outcome.providerName,
            providerError: outcome.providerError,
            providerDescription: outcome.providerDescription,
            returnTo: outcome.returnTo ?? undefined,
            connect: outcome.connect,
          },
    ),
    { httpOnly: true, secure, sameSite: "lax", path: "/consent/result", maxAge: 600 },
  );
  jar.delete(flowCookieName());
  return new Response(null, {
    status: 303,
    headers: { location: `${env().publicUrl}${to}`, "referrer-policy": "no-referrer", "cache-control": "no-store" },
  });
}
