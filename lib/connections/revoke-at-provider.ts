// Revokes a connection's grant at the provider, as its catalogue `revocation` block says (RFC 7009 or the
// provider's own endpoint). Best effort: the caller deletes the tokens whatever the outcome. The reason
// is Consentry's own text: of the provider's answer only its status and an OAuth error code are kept.
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import { getAppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { EgressError, egressFetch, egressStream } from "@/lib/oauth/egress";
import { createRedactor, type Redact } from "@/lib/oauth/redact";
import { tokenRequestBody } from "@/lib/oauth/token-request";
import { readOAuthErrorCode } from "@/lib/oauth/token-errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import {
  applyHostOverrides,
  clientAuthMethod,
  hostOverridesFromMetadata,
  renderTemplate,
} from "@/lib/providers/resolve-url";
import { TOKEN_PLACEHOLDER, type TProvider, type TRevocation } from "@/lib/providers/schema";
import { openToken } from "@/lib/tokens/token-secrets";

export type TRevocationOutcome = "revoked" | "unsupported" | "failed";
export type TRevocationResult = { outcome: TRevocationOutcome; reason?: string };

export const REVOCATION_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 16 * 1024;
/** what `{token}` becomes while the URL is rendered (renderTemplate knows no such placeholder) */
const MARK = "CONSENTRY-REVOKED-TOKEN";
/** the error codes a reason may quote */
const REASON_CODE = /^[a-z_]{1,64}$/;

type RevocableConnection = {
  id: string;
  providerId: string;
  oauthAppId: string | null;
  tokenSet: { accessTokenEnc: string; refreshTokenEnc: string | null } | null;
};

const unsupported = (reason: string): TRevocationResult => ({ outcome: "unsupported", reason });
const failed = (reason: string): TRevocationResult => ({ outcome: "failed", reason });

export async function revokeAtProvider({
  db,
  organizationId,
  connection,
  settings,
  metadata,
}: {
  db: Db;
  organizationId: string;
  connection: RevocableConnection;
  settings: Record<string, unknown>;
  metadata: Record<string, string>;
}): Promise<TRevocationResult> {
  const provider = PROVIDERS.get(connection.providerId);
  const spec = provider?.revocation;
  if (!provider || !spec) return unsupported("the provider offers no token revocation");
  let result: TRevocationResult;
  try {
    result = await attempt({ db, organizationId, connection, settings, metadata, provider, spec });
  } catch {
    // never in the way of the disconnect itself
    result = failed("the revocation request failed");
  }
  const line = { organizationId, connectionId: connection.id, providerId: provider.id, ...result };
  if (result.outcome === "failed") logger.warn(line, "revocation at the provider failed");
  else logger.info(line, "revocation at the provider");
  return result;
}

async function attempt({
  db,
  organizationId,
  connection,
  settings,
  metadata,
  provider,
  spec,
}: {
  db: Db;
  organizationId: string;
  connection: RevocableConnection;
  settings: Record<string, unknown>;
  metadata: Record<string, string>;
  provider: TProvider;
  spec: TRevocation;
}): Promise<TRevocationResult> {
  const tokenSet = connection.tokenSet;
  if (!tokenSet) return unsupported("no token is stored for this connection");
  const useRefresh = spec.token !== "access" && tokenSet.refreshTokenEnc !== null;
  if (spec.token === "refresh" && !useRefresh) return unsupported("no refresh token is stored for this connection");

  const template = spec.url.split(TOKEN_PLACEHOLDER).join(MARK);
  const rendered = renderTemplate(provider, template, {
    settings,
    metadata,
    hostOverrides: hostOverridesFromMetadata(metadata),
  });
  if (!rendered) return unsupported("no revocation URL is set for this connection");

  let token: string;
  try {
    const owner = { organizationId, connectionId: connection.id };
    token = useRefresh
      ? openToken(owner, "refreshTokenEnc", tokenSet.refreshTokenEnc!)
      : openToken(owner, "accessTokenEnc", tokenSet.accessTokenEnc);
  } catch {
    return failed("the stored token could not be decrypted");
  }

  let url: string;
  try {
    const withHost = applyHostOverrides(rendered);
    // a setting that spelled the mark itself would put the token where the catalogue did not
    if (withHost.split(MARK).length !== template.split(MARK).length) return failed("the revocation URL is not valid");
    url = withHost.split(MARK).join(encodeURIComponent(token));
  } catch {
    return failed("the revocation URL is not valid");
  }

  const params: Record<string, string> = {};
  if (spec.tokenParam) {
    params[spec.tokenParam] = token;
    if (spec.tokenTypeHint) params.token_type_hint = useRefresh ? "refresh_token" : "access_token";
  }
  const method = spec.clientAuth === "provider" ? clientAuthMethod(provider, settings) : spec.clientAuth;
  let body: URLSearchParams;
  let headers: Record<string, string>;
  let clientSecret: string | null = null;
  if (method === "none") {
    body = new URLSearchParams(params);
    headers = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  } else {
    if (!connection.oauthAppId) return failed("the connection has no OAuth app to authenticate with");
    let app;
    try {
      app = await getAppCredentials({ db, appId: connection.oauthAppId, organizationId });
    } catch {
      return failed("the OAuth app's credentials could not be read");
    }
    clientSecret = app.clientSecret;
    ({ body, headers } = tokenRequestBody(params, { clientId: app.clientId, clientSecret, method }));
  }
  const form = body.toString();
  if (!form) delete headers["content-type"];
  const redact = createRedactor([token, clientSecret, headers.authorization?.replace(/^Basic\s+/i, "")]);

  let answer: { status: number; text: string };
  try {
    answer = await send(url, spec.method, headers, form || undefined);
  } catch (e) {
    if (!(e instanceof EgressError)) return failed("the revocation request failed");
    if (e.code === "blocked_address") return failed("the revocation URL points at an address Consentry does not call");
    if (e.code === "invalid_url") return failed("the revocation URL is not valid");
    return failed(`the provider could not be reached: ${e.code}`);
  }

  const { status } = answer;
  if (status >= 300 && status < 400)
    return failed(`the provider answered with a redirect (HTTP ${status}), which Consentry does not follow`);
  const error = errorIn(provider, answer.text, redact);
  const success = spec.successStatuses ? spec.successStatuses.includes(status) : status >= 200 && status < 300;
  // Zoho-style answers: HTTP 200 whose body is an error
  if (success && !error.present) return { outcome: "revoked" };
  return failed(`the provider answered HTTP ${status}${error.code ? ` (${error.code})` : ""}`);
}

/** One request under the egress rules; DELETE goes through egressStream, egressFetch sends GET and POST only. */
async function send(
  url: string,
  method: TRevocation["method"],
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  if (method === "POST") {
    const res = await egressFetch(url, {
      method,
      headers,
      body,
      timeoutMs: REVOCATION_TIMEOUT_MS,
      maxBytes: MAX_ANSWER_BYTES,
    });
    return { status: res.status, text: res.text };
  }
  const res = await egressStream(url, {
    method,
    headers,
    body: body === undefined ? undefined : Buffer.from(body, "utf8"),
    timeoutMs: REVOCATION_TIMEOUT_MS,
    maxBytes: MAX_ANSWER_BYTES,
  });
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) chunks.push(chunk as Buffer);
  return { status: res.status, text: Buffer.concat(chunks).toString("utf8") };
}

/** Whether the answer names an error, and its OAuth code when it is one Consentry may quote. */
function errorIn(provider: TProvider, text: string, redact: Redact): { present: boolean; code: string | null } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { present: false, code: null };
  }
  if (!json || typeof json !== "object") return { present: false, code: null };
  const raw = (json as Record<string, unknown>)[provider.errorField ?? "error"];
  if (raw === undefined || raw === null || raw === "") return { present: false, code: null };
  const aliased = typeof raw === "string" ? (provider.errorAliases[raw] ?? raw) : raw;
  const code = readOAuthErrorCode(aliased, redact);
  return { present: true, code: code && REASON_CODE.test(code) ? code : null };
}
