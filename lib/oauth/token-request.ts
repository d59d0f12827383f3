// Hand-written because oauth4webapi/openid-client reject what real providers send (Azure v1's string
// expires_in and unsigned id_token, Zoho's HTTP 200 errors) and cannot pin the vetted address per request.
// The token endpoint client: one POST, the provider's client-authentication method, strict parsing.
// Every grant goes through here (code exchange, refresh, client credentials), so every answer is read
// with a redactor of the secrets its request carried.
import type { TProvider } from "@/lib/providers/schema";
import { EgressError, egressFetch } from "@/lib/oauth/egress";
import { parseTokenResponse, type TokenSetData } from "@/lib/oauth/parse-token-response";
import { createRedactor } from "@/lib/oauth/redact";
import { TokenEndpointError } from "@/lib/oauth/token-errors";

export type ClientCredentials = {
  clientId: string;
  clientSecret?: string | null;
  /** a signed client assertion (RFC 7523) instead of a secret */
  clientAssertion?: string;
  method: "client_secret_post" | "client_secret_basic";
};

/** RFC 6749 §2.3.1: form-urlencode id and secret before Basic encoding, so any character works. */
function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64")}`;
}

export function tokenRequestBody(
  params: Record<string, string>,
  client: ClientCredentials,
): { body: URLSearchParams; headers: Record<string, string> } {
  const body = new URLSearchParams();
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  // Order follows the seed documents' request shapes (grant_type first for generic providers).
  for (const [k, v] of Object.entries(params)) body.set(k, v);
  if (client.clientAssertion) {
    body.set("client_id", client.clientId);
    body.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    body.set("client_assertion", client.clientAssertion);
  } else if (client.method === "client_secret_basic" && client.clientSecret) {
    headers.authorization = basicAuth(client.clientId, client.clientSecret);
  } else {
    body.set("client_id", client.clientId);
    if (client.clientSecret) body.set("client_secret", client.clientSecret);
  }
  return { body, headers };
}

/** Parameters whose values are secrets (grant_type, redirect_uri, resource and scope are not). */
const SECRET_PARAMS = [
  "code",
  "code_verifier",
  "refresh_token",
  "client_secret",
  "client_assertion",
  "assertion",
  "password",
  "device_code",
];

/** Every secret value a token request carries, for redacting its answer. */
export function tokenRequestSecrets(body: URLSearchParams, headers: Record<string, string>): string[] {
  const secrets = SECRET_PARAMS.flatMap((k) => body.getAll(k));
  // the Basic credentials as sent (base64 of the form-encoded id:secret); the secret alone is in the body or in client
  if (headers.authorization) secrets.push(headers.authorization.replace(/^Basic\s+/i, ""));
  return secrets;
}

export async function requestToken({
  provider,
  url,
  params,
  client,
  timeoutMs = 15_000,
}: {
  provider: TProvider;
  url: string;
  params: Record<string, string>;
  client: ClientCredentials;
  timeoutMs?: number;
}): Promise<TokenSetData> {
  const { body, headers } = tokenRequestBody(params, client);
  const requestedAt = new Date();
  let res;
  try {
    res = await egressFetch(url, { method: "POST", headers, body: body.toString(), timeoutMs, maxBytes: 64 * 1024 });
  } catch (e) {
    if (e instanceof EgressError) {
      const cls = e.code === "blocked_address" || e.code === "invalid_url" ? "invalid_response" : "retryable";
      throw new TokenEndpointError(
        cls,
        e.code,
        e.code === "blocked_address"
          ? "The token URL points at an address Consentry does not call."
          : `The token endpoint could not be reached (${e.code}).`,
      );
    }
    throw e;
  }
  if (res.status >= 300 && res.status < 400) {
    throw new TokenEndpointError(
      "invalid_response",
      "redirect",
      "The token endpoint answered with a redirect, which Consentry does not follow.",
      { status: res.status },
    );
  }
  const redact = createRedactor([...tokenRequestSecrets(body, headers), client.clientSecret, client.clientAssertion]);
  return parseTokenResponse({
    provider,
    status: res.status,
    headers: res.headers,
    text: res.text,
    requestedAt,
    redact,
  });
}
