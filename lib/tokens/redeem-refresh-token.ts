// A refresh-token grant for a refresh token that is not stored yet (an import proving it before anything
// is written): the request a stored connection's refresh sends (lib/tokens/refresh-connection.ts) — the
// refresh URL or else the token URL, the provider's token parameters and client authentication, through
// the egress guard, its answer parsed strictly and scrubbed of what was sent.
import type { TProvider } from "@/lib/providers/schema";
import { clientAuthMethod, hostOverridesFromMetadata, refreshTokenUrl } from "@/lib/providers/resolve-url";
import { requestToken } from "@/lib/oauth/token-request";
import type { TokenSetData } from "@/lib/oauth/parse-token-response";
import type { AppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { INTERACTIVE_DEADLINE_MS } from "@/lib/tokens/refresh-connection";

export async function redeemRefreshToken({
  provider,
  app,
  settings,
  metadata,
  refreshToken,
  timeoutMs = INTERACTIVE_DEADLINE_MS,
}: {
  provider: TProvider;
  app: Pick<AppCredentials, "clientId" | "clientSecret">;
  /** the connection's plain (non-secret) settings */
  settings: Record<string, unknown>;
  /** the connection's provider metadata (host.* overrides a consent decided) */
  metadata: Record<string, string>;
  refreshToken: string;
  timeoutMs?: number;
}): Promise<TokenSetData> {
  return requestToken({
    provider,
    url: refreshTokenUrl(provider, { settings, hostOverrides: hostOverridesFromMetadata(metadata), metadata }),
    params: { grant_type: "refresh_token", refresh_token: refreshToken, ...provider.tokenParams },
    client: { clientId: app.clientId, clientSecret: app.clientSecret, method: clientAuthMethod(provider, settings) },
    timeoutMs,
  });
}
