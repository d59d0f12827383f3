// Microsoft app-only tokens (seed 000, client credentials): POST to the tenant's own token endpoint
// with a fresh certificate assertion (aud = that exact URL) or the client secret. The tenant id is
// always a GUID we stored ourselves, never "common".
import type { TProvider } from "@/lib/providers/schema";
import { AppError } from "@/lib/errors";
import { providerUrl } from "@/lib/providers/resolve-url";
import { signClientAssertion } from "@/lib/oauth/client-assertion";
import { requestToken } from "@/lib/oauth/token-request";
import type { AppCredentials } from "@/lib/oauth-apps/get-app-credentials";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function requestAppOnlyToken({
  provider,
  app,
  tenantId,
  timeoutMs,
}: {
  provider: TProvider;
  app: AppCredentials;
  tenantId: string;
  timeoutMs?: number;
}) {
  if (!provider.appOnly)
    throw new AppError("bad-request", `${provider.name} has no app-only tokens.`, {
      i18n: { key: "errors.noAppOnlyTokens", values: { provider: provider.name } },
    });
  if (!GUID.test(tenantId))
    throw new AppError("bad-request", "The tenant id is not a GUID.", { i18n: { key: "errors.tenantNotGuid" } });
  const url = providerUrl(provider, provider.appOnly.tokenUrl, { tenant: tenantId }, "app-only token URL");
  // grant_type last, so no catalogue entry can turn this into another grant
  const params = { ...provider.appOnly.params, grant_type: "client_credentials" };
  if (app.certificate) {
    const clientAssertion = await signClientAssertion({
      clientId: app.clientId,
      audience: url,
      privateKeyPem: app.certificate.privateKeyPem,
      certificateThumbprints: { sha1: app.certificate.sha1, sha256: app.certificate.sha256 },
    });
    return requestToken({
      provider,
      url,
      params,
      client: { clientId: app.clientId, clientAssertion, method: "client_secret_post" },
      timeoutMs,
    });
  }
  if (!app.clientSecret)
    throw new AppError("bad-request", "The OAuth app has neither a certificate nor a client secret.", {
      i18n: { key: "errors.noAppCredentials" },
    });
  return requestToken({
    provider,
    url,
    params,
    client: { clientId: app.clientId, clientSecret: app.clientSecret, method: "client_secret_post" },
    timeoutMs,
  });
}
