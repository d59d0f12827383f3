// Claims of an access token the server itself just received from the provider's token endpoint
// over TLS. It is not verified against keys (Azure access tokens for other resources cannot be),
// which is why only tokens we obtained ourselves are ever read — never anything a browser sent.
import { decodeJwt } from "jose";
import type { TProvider } from "@/lib/providers/schema";
import { TokenEndpointError } from "@/lib/oauth/token-errors";
import { redactTokenShapes } from "@/lib/oauth/redact";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function readTenantClaims(provider: TProvider, accessToken: string) {
  const spec = provider.tenantFromAccessToken;
  if (!spec) return null;
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(accessToken);
  } catch {
    throw new TokenEndpointError(
      "invalid_response",
      "invalid_response",
      "The access token is not a JWT, so the tenant cannot be read from it.",
    );
  }
  const tid = claims[spec.tenantClaim];
  if (typeof tid !== "string" || !GUID.test(tid))
    throw new TokenEndpointError("invalid_response", "invalid_response", "The access token carries no tenant id.");
  // names the provider chose, stored and shown: no token-shaped text from them
  const str = (k?: string) => (k && typeof claims[k] === "string" ? redactTokenShapes(claims[k] as string) : null);
  return {
    tenantId: tid.toLowerCase(),
    accountName: str(spec.nameClaim),
    accountEmail: str(spec.emailClaim),
    accountId: str(spec.idClaim),
  };
}
