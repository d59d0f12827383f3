// Creates a connection for an organization: provider settings validated (customer URLs checked
// against the egress policy), an app chosen or created inline. An API-key connection is active at
// once; an OAuth connection waits for consent.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import type { TProvider } from "@/lib/providers/schema";
import { customerUrls, parseProviderSettings } from "@/lib/providers/settings";
import { assertSafeUrl } from "@/lib/oauth/egress";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { saveTokenSet } from "@/lib/tokens/save-token-set";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { ZCreateConnection } from "@/lib/connections/schemas";
import { sealSecretSettings, splitSettings } from "@/lib/connections/secret-settings";

export async function createConnection({
  db,
  organizationId,
  input,
  actor,
}: {
  db: Db;
  organizationId: string;
  input: unknown;
  actor: Actor;
}) {
  const parsed = ZCreateConnection.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const v = parsed.data;
  const provider = PROVIDERS.get(v.provider);
  if (!provider)
    throw new AppError("validation", `Unknown provider "${v.provider}"`, {
      errors: [{ path: "provider", message: "validation.provider" }],
      i18n: { key: "errors.checkFields" },
    });
  const settings = parseProviderSettings(provider, v.settings);
  for (const { key, url } of customerUrls(provider, settings)) {
    const problem = await assertSafeUrl(url);
    if (problem) throw new AppError("validation", problem, { errors: [{ path: `settings.${key}`, message: problem }] });
  }

  let oauthAppId: string | null = null;
  if (provider.authKind === "oauth2") {
    if (v.oauth_app_id && v.oauth_app)
      throw new AppError("validation", "Give either oauth_app_id or oauth_app, not both", {
        errors: [{ path: "oauth_app", message: "validation.oneApp" }],
      });
    if (v.oauth_app_id) {
      const app = await db.oAuthApp.findFirst({
        where: { id: v.oauth_app_id, providerId: provider.id, OR: [{ organizationId }, { organizationId: null }] },
        select: { id: true },
      });
      if (!app)
        throw new AppError("validation", "No such OAuth app for this provider", {
          errors: [{ path: "oauth_app_id", message: "validation.appNotFound" }],
          i18n: { key: "errors.checkFields" },
        });
      oauthAppId = app.id;
    } else if (v.oauth_app) {
      const app = await saveOAuthApp({
        db,
        organizationId,
        input: {
          providerId: provider.id,
          name: v.name,
          clientId: v.oauth_app.client_id,
          clientSecret: v.oauth_app.client_secret,
          redirectUri: v.oauth_app.redirect_uri,
          publisherTenantId: v.oauth_app.publisher_tenant_id,
          certificatePem: v.oauth_app.certificate?.certificate_pem,
          privateKeyPem: v.oauth_app.certificate?.private_key_pem,
        },
        actor,
      });
      oauthAppId = app.id;
    } else {
      throw new AppError("validation", "Choose an OAuth app or enter your app's client id and secret", {
        errors: [{ path: "oauth_app_id", message: "validation.appRequired" }],
        i18n: { key: "errors.checkFields" },
      });
    }
  } else if (!v.api_key) {
    throw new AppError("validation", "Enter the API key", {
      errors: [{ path: "api_key", message: "validation.apiKeyRequired" }],
      i18n: { key: "errors.checkFields" },
    });
  }

  await assertAdminConsentAllowed(db, provider, settings, oauthAppId);
  const id = crypto.randomUUID();
  const scopes = [...new Set(v.scopes ?? provider.defaultScopes)].join(" ");
  const { plain, secret } = splitSettings(provider, settings);
  const connection = await db.$transaction(async (tx) => {
    const c = await tx.connection.create({
      data: {
        id,
        organizationId,
        providerId: provider.id,
        oauthAppId,
        name: v.name,
        settings: JSON.stringify(plain),
        secretSettingsEnc: sealSecretSettings({ id, organizationId }, secret),
        requestedScopes: scopes,
        // granted scopes: what the provider answers at consent (an API key grants what it grants)
        scopes: "",
        customerMetadata: JSON.stringify(v.metadata ?? {}),
        status: provider.authKind === "api_key" ? "active" : "pending_consent",
        ...(provider.authKind === "api_key" ? { connectedAt: new Date() } : {}),
      },
    });
    if (provider.authKind === "api_key") {
      // An API key never expires by itself; it is stored like an access token (encrypted), with a far expiry.
      await saveTokenSet({
        tx,
        organizationId,
        connectionId: id,
        data: {
          accessToken: v.api_key!,
          refreshToken: null,
          idToken: null,
          tokenType: "ApiKey",
          expiresAt: new Date("9999-12-31T00:00:00Z"),
          refreshTokenExpiresAt: null,
          scopes: null,
          metadata: {},
        },
      });
    }
    return c;
  });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connection.created",
      outcome: "success",
      target: { type: "connection", id },
      details: { provider: provider.id, name: v.name, ...(v.metadata ? { metadata: v.metadata } : {}) },
    },
    db,
  );
  return connection;
}

/**
 * The v2 admin-consent callback carries only a tenant id; with a shared platform app that proves
 * nothing about who consented. It is allowed with the organization's own app registration only.
 */
export async function assertAdminConsentAllowed(
  db: Db,
  provider: TProvider,
  settings: Record<string, unknown>,
  oauthAppId: string | null,
) {
  if (!provider.adminConsent || settings[provider.adminConsent.setting] !== provider.adminConsent.value || !oauthAppId)
    return;
  const app = await db.oAuthApp.findUnique({ where: { id: oauthAppId }, select: { organizationId: true } });
  if (app?.organizationId === null)
    throw new AppError(
      "validation",
      "Admin consent only (v2) needs your organization's own app registration; with the platform app, use admin consent with sign-in (v1).",
      {
        errors: [{ path: "settings.consent_mode", message: "validation.v2NeedsCustomApp" }],
        i18n: { key: "errors.checkFields" },
      },
    );
}
