// The outcome of a consent flow travels to the result page in a short-lived signed cookie, so the
// callback can answer 303 to a clean URL (no codes, no ids in the address bar or Referer).
import { SignJWT, jwtVerify } from "jose";
import { z } from "zod";
import { authSecret } from "@/lib/auth/secret";

export const RESULT_COOKIE = "consentry-consent-result";

export const ZConsentResult = z.object({
  ok: z.boolean(),
  organizationName: z.string().optional(),
  providerName: z.string().optional(),
  connectionName: z.string().optional(),
  tenantId: z.string().nullable().optional(),
  /** e.g. contoso.onmicrosoft.com, from the consenting admin's UPN */
  tenantLabel: z.string().nullable().optional(),
  /** a message key under consentResult.errors */
  reason: z.string().optional(),
  /** the provider's own error code and (escaped on render) description, for the admin to act on */
  providerError: z.string().optional(),
  providerDescription: z.string().optional(),
  /** where a signed-in user who started the flow goes next (same-site path) */
  returnTo: z.string().optional(),
  /** a connect session's flow: the origins that may hear the result, the return URL, the result itself */
  connect: z
    .object({
      origins: z.array(z.string()),
      mode: z.enum(["popup", "redirect"]).nullable(),
      returnUrl: z.string().nullable(),
      result: z.object({
        status: z.enum(["pending", "connected", "error", "expired"]),
        connectionId: z.string().nullable(),
        tenantId: z.string().nullable(),
        error: z.string().nullable(),
      }),
    })
    .optional(),
});
export type TConsentResult = z.infer<typeof ZConsentResult>;

const key = () => new TextEncoder().encode(`consent-result:${authSecret()}`);

export async function signConsentResult(result: TConsentResult): Promise<string> {
  return new SignJWT({ r: result })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key());
}

export async function readConsentResult(token: string | undefined): Promise<TConsentResult | null> {
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, key(), { algorithms: ["HS256"] });
    const parsed = ZConsentResult.safeParse(payload.r);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
