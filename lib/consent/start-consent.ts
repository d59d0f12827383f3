// Starts (or restarts) the authorization flow of a consent request: a fresh single-use state
// (256-bit, stored hashed, 10 minutes), PKCE S256 where the provider supports it, the browser
// binding, and the provider's authorization URL built from the catalogue.
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { encryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { providerUrl } from "@/lib/providers/resolve-url";
import { createPkce, randomToken, sha256 } from "@/lib/oauth/pkce";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import type { TProvider } from "@/lib/providers/schema";

export const STATE_TTL_MS = 10 * 60_000;

export function callbackUrl(providerId: string): string {
  return `${env().publicUrl}/api/oauth/callback/${providerId}`;
}

export function usesPkce(provider: TProvider, settings: Record<string, unknown>): boolean {
  if (!provider.pkce) return false;
  return provider.pkceSetting ? settings[provider.pkceSetting] !== false : true;
}

/** The consent request behind a link token, if the link is still open. */
export async function findOpenConsentLink({ db, token }: { db: Db; token: string }) {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const r = await db.consentRequest.findUnique({
    where: { linkTokenHash: sha256(token) },
    include: {
      organization: { select: { id: true, name: true } },
      connection: {
        select: { id: true, name: true, providerId: true, status: true, requestedScopes: true, settings: true },
      },
    },
  });
  if (!r || r.revokedAt || r.usedAt || r.expiresAt <= new Date()) return null;
  return r;
}

export async function startConsent({
  db,
  consentRequestId,
  organizationId,
  browserSecret,
  returnTo,
  actor,
  ip,
}: {
  db: Db;
  consentRequestId: string;
  organizationId: string;
  browserSecret: string;
  returnTo?: string;
  actor: Actor;
  ip?: string | null;
}): Promise<{ authorizationUrl: string; headless: boolean }> {
  const request = await db.consentRequest.findFirst({
    where: { id: consentRequestId, organizationId },
    include: { connection: { include: { oauthApp: { select: { id: true, clientId: true, redirectUri: true } } } } },
  });
  if (!request || request.revokedAt || request.usedAt || request.expiresAt <= new Date()) {
    throw new AppError("not-found", "This consent link is no longer valid.", { i18n: { key: "errors.linkNotOpen" } });
  }
  const connection = request.connection;
  const provider = PROVIDERS.get(connection.providerId);
  const app = connection.oauthApp;
  if (!provider || provider.authKind !== "oauth2" || !app)
    throw new AppError("bad-request", "This connection does not use OAuth consent.", {
      i18n: { key: "errors.notOAuth" },
    });
  const settings = JSON.parse(connection.settings) as Record<string, unknown>;

  const state = randomToken(32);
  const pkce = usesPkce(provider, settings) ? createPkce() : null;
  const redirectUri = app.redirectUri ?? callbackUrl(provider.id);
  const adminConsent = provider.adminConsent && settings[provider.adminConsent.setting] === provider.adminConsent.value;

  const { count } = await db.consentRequest.updateMany({
    where: { id: request.id, usedAt: null, revokedAt: null },
    data: {
      stateHash: sha256(state),
      stateExpiresAt: new Date(Date.now() + STATE_TTL_MS),
      pkceVerifierEnc: pkce
        ? encryptSecret(pkce.verifier, contextFor("ConsentRequest", request, "pkceVerifierEnc"))
        : null,
      redirectUri,
      browserHash: sha256(browserSecret),
      requestedScopes: connection.requestedScopes,
      returnTo: returnTo ?? null,
    },
  });
  if (count !== 1)
    throw new AppError("not-found", "This consent link is no longer valid.", { i18n: { key: "errors.linkNotOpen" } });

  const ctx = { settings };
  const params = new URLSearchParams();
  if (adminConsent) {
    params.set("client_id", app.clientId);
    params.set("redirect_uri", redirectUri);
    params.set("state", state);
    for (const [k, v] of Object.entries(provider.adminConsent!.params)) params.set(k, v);
  } else {
    // Order as in the seed documents: response_type, provider parameters (Azure's resource), client_id, redirect_uri, scope.
    params.set("response_type", "code");
    for (const [k, v] of Object.entries(provider.authorizationParams)) params.set(k, v);
    params.set("client_id", app.clientId);
    params.set("redirect_uri", redirectUri);
    if (!provider.omitScopeParam && connection.requestedScopes)
      params.set("scope", connection.requestedScopes.split(" ").join(provider.scopeSeparator));
    params.set("state", state);
    if (pkce) {
      params.set("code_challenge", pkce.challenge);
      params.set("code_challenge_method", pkce.method);
    }
    const extra = provider.authorizationParamsSetting
      ? (settings[provider.authorizationParamsSetting] as Record<string, string> | undefined)
      : undefined;
    for (const [k, v] of Object.entries(extra ?? {})) if (!params.has(k)) params.set(k, v);
  }
  const base = providerUrl(
    provider,
    adminConsent ? provider.adminConsent!.url : provider.authorizationUrl,
    ctx,
    "authorization URL",
  );
  const url = new URL(base);
  for (const [k, v] of params) url.searchParams.append(k, v);

  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "consent.started",
      outcome: "success",
      ip,
      target: { type: "connection", id: connection.id },
      details: {
        provider: provider.id,
        pkce: Boolean(pkce),
        adminConsent: Boolean(adminConsent),
        headless: redirectUri !== callbackUrl(provider.id),
      },
    },
    db,
  );
  return { authorizationUrl: url.toString(), headless: redirectUri !== callbackUrl(provider.id) };
}
