// Creates a connection for an organization: provider settings validated (customer URLs checked
// against the egress policy), an app chosen or created inline. An API-key connection is active at
// once; an OAuth connection waits for consent.
import { findUsableOAuthApp } from "@/lib/oauth-apps/find-usable-app";
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import type { z } from "zod";
import { AppError, fieldErrors, type FieldError } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import type { TProvider } from "@/lib/providers/schema";
import { customerUrls, providerSettingsSchema } from "@/lib/providers/settings";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { ZOAuthAppInput } from "@/lib/oauth-apps/schemas";
import { checkOutboundUrls } from "@/lib/validation/check-outbound-urls";
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
  const { v, provider, settings } = await validateConnectionInput(db, organizationId, input);

  let oauthAppId: string | null = null;
  if (provider.authKind === "oauth2") {
    if (v.oauth_app_id) oauthAppId = v.oauth_app_id;
    else if (v.oauth_app) {
      const app = await saveOAuthApp({
        db,
        organizationId,
        input: inlineAppInput(provider.id, v.name, v.oauth_app),
        actor,
      });
      oauthAppId = app.id;
    }
  }

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

type TValid = z.output<typeof ZCreateConnection>;

/** The inline app's fields as saveOAuthApp takes them (the connection's name names the app). */
function inlineAppInput(providerId: string, name: string, app: NonNullable<TValid["oauth_app"]>) {
  return {
    providerId,
    name,
    clientId: app.client_id,
    clientSecret: app.client_secret,
    redirectUri: app.redirect_uri,
    publisherTenantId: app.publisher_tenant_id,
    certificatePem: app.certificate?.certificate_pem,
    privateKeyPem: app.certificate?.private_key_pem,
  };
}

/** saveOAuthApp's field names → the inline app's, so the wizard shows each error beside its field. */
const INLINE_APP_PATHS: Record<string, string> = {
  name: "name",
  clientId: "oauth_app.client_id",
  clientSecret: "oauth_app.client_secret",
  redirectUri: "oauth_app.redirect_uri",
  publisherTenantId: "oauth_app.publisher_tenant_id",
  certificatePem: "oauth_app.certificate.certificate_pem",
  privateKeyPem: "oauth_app.certificate.private_key_pem",
};

/**
 * Everything about a new connection that can be checked before anything is written, all of it in one
 * pass: the body, the provider, its settings, every customer URL against the egress policy (side by
 * side), the app or API key. One AppError lists every field's problem, so a refused form shows them all
 * at once instead of the first one only.
 */
async function validateConnectionInput(db: Db, organizationId: string, input: unknown) {
  const errors: FieldError[] = [];
  const parsed = ZCreateConnection.safeParse(input);
  if (!parsed.success) errors.push(...fieldErrors(parsed.error.issues));
  const raw = (input && typeof input === "object" ? input : {}) as Record<string, unknown>;
  const has = (path: string) => errors.some((e) => e.path === path || e.path.startsWith(`${path}.`));

  const provider = typeof raw.provider === "string" ? PROVIDERS.get(raw.provider) : undefined;
  if (!provider) {
    if (!has("provider")) errors.push({ path: "provider", message: "validation.provider" });
    throw invalid(errors);
  }

  // settings: the provider's schema, then the egress policy for each URL that passed it
  let settings: Record<string, unknown> | null = null;
  const rawSettings = raw.settings ?? {};
  const settingsParsed = providerSettingsSchema(provider).safeParse(rawSettings);
  if (settingsParsed.success)
    settings = Object.fromEntries(Object.entries(settingsParsed.data).filter(([, x]) => x !== undefined));
  else if (!has("settings"))
    errors.push(...fieldErrors(settingsParsed.error.issues.map((i) => ({ ...i, path: ["settings", ...i.path] }))));
  const given = (rawSettings && typeof rawSettings === "object" ? rawSettings : {}) as Record<string, unknown>;
  const urls = settings
    ? customerUrls(provider, settings)
    : provider.settings
        .filter((s) => s.type === "url" && typeof given[s.key] === "string" && (given[s.key] as string).trim())
        .map((s) => ({ key: s.key, url: (given[s.key] as string).trim() }));
  errors.push(
    ...(await checkOutboundUrls(
      urls.filter(({ key }) => !has(`settings.${key}`)).map(({ key, url }) => ({ path: `settings.${key}`, url })),
    )),
  );

  const v = parsed.success ? parsed.data : null;
  if (provider.authKind === "oauth2") {
    const appId = typeof raw.oauth_app_id === "string" ? raw.oauth_app_id : undefined;
    const inline = raw.oauth_app;
    if (appId && inline) errors.push({ path: "oauth_app", message: "validation.oneApp" });
    else if (appId && !has("oauth_app_id")) {
      const app = await findUsableOAuthApp(db, organizationId, provider.id, appId);
      if (!app) errors.push({ path: "oauth_app_id", message: "validation.appNotFound" });
      else if (settings)
        await assertAdminConsentAllowed(db, provider, settings, app.id).catch((e: unknown) => {
          if (!(e instanceof AppError) || !e.errors) throw e;
          errors.push(...e.errors);
        });
    } else if (inline && v?.oauth_app) {
      // the app the connection would create, checked now: its errors come with the connection's
      const app = ZOAuthAppInput.safeParse(inlineAppInput(provider.id, v.name, v.oauth_app));
      if (!app.success)
        for (const e of fieldErrors(app.error.issues)) {
          const path = INLINE_APP_PATHS[e.path] ?? `oauth_app.${e.path}`;
          if (!has(path)) errors.push({ ...e, path });
        }
    } else if (!inline) errors.push({ path: "oauth_app_id", message: "validation.appRequired" });
  } else if (typeof raw.api_key !== "string" || !raw.api_key) {
    if (!has("api_key")) errors.push({ path: "api_key", message: "validation.apiKeyRequired" });
  }

  if (errors.length || !v || !settings) throw invalid(errors);
  return { v, provider, settings };
}

function invalid(errors: FieldError[]) {
  const seen = new Set<string>();
  const unique = errors.filter((e) => {
    const k = `${e.path}\u0000${e.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  return new AppError("validation", "Check the highlighted fields.", {
    errors: unique,
    i18n: { key: "errors.checkFields" },
  });
}
