// Imports a connection with its tokens, from one of two sources:
//   export    — a file made by exportConnection (this installation or another), opened with its passphrase;
//               the organization needs an OAuth app (its own or the platform's) with the same client id.
//   migration — a refresh token from elsewhere, refreshed at once to prove it (nothing is stored if that fails).
// Everything is validated as creation validates it (settings, egress, app, one tenant per organization
// and provider) before anything is written; tokens are sealed under this installation's keys; the
// connection and its token set are written in one transaction, waited for while the database blinks
// (a refresh the provider has answered may have rotated the token: that answer must land).
import { findUsableOAuthApp, usableAppsWhere } from "@/lib/oauth-apps/find-usable-app";
import crypto from "node:crypto";
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors, type FieldError } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import type { TProvider } from "@/lib/providers/schema";
import { customerUrls, parseProviderSettings } from "@/lib/providers/settings";
import { checkOutboundUrls } from "@/lib/validation/check-outbound-urls";
import { readTenantClaims } from "@/lib/oauth/read-token-claims";
import { TokenEndpointError } from "@/lib/oauth/token-errors";
import type { TokenSetData } from "@/lib/oauth/parse-token-response";
import { getAppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { ZMetadata, ZScopes } from "@/lib/connections/schemas";
import { sealSecretSettings, splitSettings } from "@/lib/connections/secret-settings";
import { assertAdminConsentAllowed } from "@/lib/connections/create-connection";
import { ZExportPayload, type TExportPayload } from "@/lib/connections/export-connection";
import {
  ExportFileError,
  ZPassphrase,
  openEnvelope,
  parseExportFileText,
  EXPORT_VERSION,
} from "@/lib/crypto/export-envelope";
import { redeemRefreshToken } from "@/lib/tokens/redeem-refresh-token";
import { saveTokenSet } from "@/lib/tokens/save-token-set";
import { nextRefreshAt } from "@/lib/tokens/next-refresh-at";
import { retryWhileUnavailable } from "@/lib/db/database-errors";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { logger } from "@/lib/logger";

const ZAppId = z.string().min(1).max(64);

export const ZImportFromExport = z
  .object({
    file: z.record(z.string(), z.unknown(), { error: "validation.exportFileRequired" }),
    passphrase: ZPassphrase,
    oauth_app_id: ZAppId.optional(),
  })
  .strict();

export const ZImportMigration = z
  .object({
    provider: z.string({ error: "validation.provider" }).min(1, "validation.provider").max(64),
    name: z
      .string({ error: "validation.nameRequired" })
      .trim()
      .min(1, "validation.nameRequired")
      .max(100, "validation.nameTooLong"),
    settings: z.record(z.string(), z.unknown()).default({}),
    scopes: ZScopes.optional().describe(
      "The requested scopes (the next consent asks for these); default: the provider's.",
    ),
    oauth_app_id: ZAppId.describe("The OAuth app the refresh token was issued to (its client id must be the same)"),
    access_token: z
      .string()
      .min(1)
      .max(16_384)
      .optional()
      .describe("Accepted for completeness; the refresh at import replaces it."),
    refresh_token: z
      .string({ error: "validation.refreshTokenRequired" })
      .min(1, "validation.refreshTokenRequired")
      .max(16_384),
    expires_at: z.iso.datetime({ offset: true }).optional().describe("Accepted; the refresh at import replaces it."),
    tenant_id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("The provider's tenant; for Microsoft it must be the tenant in the refreshed access token."),
    metadata: ZMetadata.optional(),
  })
  .strict();

type Source = "export" | "migration";

/** The access token of a file is used as it is while it lives at least this long; else it is refreshed first. */
const STILL_VALID_MS = 60_000;

function invalid(message: string, errors: FieldError[], i18n?: AppError["i18n"]): AppError {
  return new AppError("validation", message, { errors, i18n: i18n ?? { key: "errors.checkFields" } });
}

/** A file's text (the CLI, the portal) as the `file` an import takes; a file that is no JSON is refused like a damaged one. */
export function readExportFile(text: string): Record<string, unknown> {
  try {
    const v = parseExportFileText(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    throw new ExportFileError("damaged", "The export file is not a JSON object.");
  } catch (e) {
    throw e instanceof ExportFileError ? fileError(e) : e;
  }
}

/** An export file that cannot be opened, in the words the caller sees (field paths under `file`, or the passphrase). */
function fileError(e: ExportFileError): AppError {
  switch (e.problem) {
    case "wrong_passphrase":
      return invalid(e.message, [{ path: "passphrase", message: "validation.exportPassphraseOrFile" }], {
        key: "errors.exportWrongPassphrase",
      });
    case "newer_version":
      return invalid(e.message, [{ path: "file.version", message: "validation.exportNewerVersion" }], {
        key: "errors.exportNewerVersion",
        values: { version: e.version ?? 0, supported: EXPORT_VERSION },
      });
    case "unknown_format":
      return invalid(e.message, [{ path: "file.format", message: "validation.exportUnknownFormat" }], {
        key: "errors.exportUnknownFormat",
      });
    default:
      return invalid(
        e.message,
        [{ path: e.field ? `file.${e.field}` : "file", message: "validation.exportFileDamaged" }],
        { key: "errors.exportFileDamaged" },
      );
  }
}

/** The body's shape decides the source: a `file` is an export, anything else a migration. */
function parseInput(input: unknown) {
  const fromFile = Boolean(input && typeof input === "object" && "file" in input);
  const r = (fromFile ? ZImportFromExport : ZImportMigration).safeParse(input);
  if (!r.success) throw invalid("Check the highlighted fields.", fieldErrors(r.error.issues));
  return fromFile
    ? { source: "export" as const, v: r.data as z.infer<typeof ZImportFromExport> }
    : { source: "migration" as const, v: r.data as z.infer<typeof ZImportMigration> };
}

function knownProvider(id: string, path: string): TProvider {
  const provider = PROVIDERS.get(id);
  if (!provider)
    throw invalid(`This installation has no provider "${id}".`, [{ path, message: "validation.providerUnknown" }], {
      key: "errors.importUnknownProvider",
      values: { provider: id },
    });
  return provider;
}

/** Settings validated as creation validates them; field paths under `prefix` (the file's, or the body's). */
async function validSettings(provider: TProvider, input: unknown, prefix: string) {
  let settings: Record<string, unknown>;
  try {
    settings = parseProviderSettings(provider, input);
  } catch (e) {
    if (!(e instanceof AppError) || !prefix) throw e;
    throw invalid(
      `The connection settings in the file are not valid here: ${(e.errors ?? []).map((x) => x.path).join(", ")}.`,
      (e.errors ?? []).map((x) => ({ ...x, path: `${prefix}${x.path}` })),
    );
  }
  const refused = await checkOutboundUrls(
    customerUrls(provider, settings).map(({ key, url }) => ({ path: `${prefix}settings.${key}`, url })),
  );
  if (refused.length) throw invalid("Check the highlighted fields.", refused);
  return settings;
}

/**
 * Provider metadata from a file decides where secrets go (a host.* override is the host the refresh goes
 * to, with the app's client secret): only what a consent could have stored passes — the callback's host
 * within its allow-list, token-response fields within theirs.
 */
function validProviderMetadata(provider: TProvider, m: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(m)) {
    const host = provider.callbackHostParam;
    const field = provider.tokenResponseMetadata.find((f) => f.field === k);
    const ok =
      k.startsWith("host.") && host
        ? k === `host.${host.host}` && new RegExp(host.allow).test(v)
        : field
          ? new RegExp(field.allow).test(v)
          : false;
    if (!ok)
      throw invalid(
        `The export file carries provider metadata "${k}" that ${provider.name} does not use, or a value it does not allow.`,
        [{ path: "file", message: "validation.exportFileDamaged" }],
        { key: "errors.exportFileDamaged" },
      );
  }
  return m;
}

/** The app an exported grant can continue with: same provider, same client id, this organization's or the platform's. */
async function matchingApp(
  db: Db,
  organizationId: string,
  provider: TProvider,
  clientId: string,
  chosen: string | undefined,
): Promise<string> {
  const apps = await db.oAuthApp.findMany({
    where: { ...usableAppsWhere(organizationId, provider.id), clientId },
    select: { id: true, organizationId: true },
    orderBy: { createdAt: "asc" },
  });
  if (chosen) {
    if (apps.some((a) => a.id === chosen)) return chosen;
    throw invalid(
      `OAuth app ${chosen} is not one of this organization's ${provider.name} apps with client id "${clientId}".`,
      [{ path: "oauth_app_id", message: "validation.importAppMismatch" }],
      { key: "errors.importNeedsApp", values: { provider: provider.name, clientId } },
    );
  }
  if (apps.length === 0)
    throw invalid(
      `This organization has no OAuth app for ${provider.name} with client id "${clientId}". Add one (its own, or ask for a platform app) with that client id and secret, then import again.`,
      [{ path: "oauth_app_id", message: "validation.importNeedsApp" }],
      { key: "errors.importNeedsApp", values: { provider: provider.name, clientId } },
    );
  // the organization's own app before the platform's; several of the same kind: the caller chooses
  const own = apps.filter((a) => a.organizationId !== null);
  const tier = own.length ? own : apps;
  if (tier.length > 1)
    throw invalid(
      `Several OAuth apps have client id "${clientId}" (${tier.map((a) => a.id).join(", ")}); choose one with oauth_app_id.`,
      [{ path: "oauth_app_id", message: "validation.importChooseApp" }],
    );
  return tier[0]!.id;
}

/** One tenant belongs to one organization per provider (as consent enforces it: lib/consent/complete-consent.ts). */
async function assertTenantFree(
  db: Db,
  provider: TProvider,
  tenantId: string,
  organizationId: string,
  audit: () => Promise<void>,
) {
  const elsewhere = await db.connection.findFirst({
    where: {
      providerId: provider.id,
      externalTenantId: tenantId,
      organizationId: { not: organizationId },
      status: { not: "revoked" },
    },
    select: { id: true },
  });
  if (!elsewhere) return;
  await audit();
  throw new AppError(
    "conflict",
    `Tenant ${tenantId} is already connected to another organization for ${provider.name}; it can belong to one only.`,
    { i18n: { key: "errors.importTenantConflict", values: { tenant: tenantId } } },
  );
}

type Refreshed = { ok: true; data: TokenSetData } | { ok: false; refused: TokenEndpointError };

/**
 * A refresh with the given refresh token. A refused grant is returned (the caller decides what it
 * means); any other failure is an error in Consentry's own words — never the provider's text, never a token.
 */
async function refresh(
  db: Db,
  organizationId: string,
  appId: string,
  provider: TProvider,
  settings: Record<string, unknown>,
  metadata: Record<string, string>,
  refreshToken: string,
): Promise<Refreshed> {
  const app = await getAppCredentials({ db, appId, organizationId });
  const plain = splitSettings(provider, settings).plain;
  try {
    return { ok: true, data: await redeemRefreshToken({ provider, app, settings: plain, metadata, refreshToken }) };
  } catch (e) {
    if (!(e instanceof TokenEndpointError)) throw e;
    logger.warn(
      { provider: provider.id, errorCode: e.errorCode, failureClass: e.failureClass, status: e.details.status },
      "import: refresh failed",
    );
    if (e.failureClass === "needs_reconsent" || e.failureClass === "consent_missing") return { ok: false, refused: e };
    if (e.failureClass === "retryable")
      throw new AppError(
        "refresh-failed",
        `${provider.name}'s token endpoint could not be reached or asked to wait (${e.errorCode}), so the refresh token could not be proven. Nothing was stored; try again later.`,
        { retryAfter: e.details.retryAfterSeconds ?? 30, i18n: { key: "errors.importProviderUnreachable" } },
      );
    if (e.failureClass === "app_misconfigured" || e.failureClass === "clock_skew")
      throw invalid(
        `${provider.name} refused the OAuth app's credentials (${e.errorCode}). Check the app's client id and secret. Nothing was stored.`,
        [{ path: "oauth_app_id", message: "validation.importAppRefused" }],
        { key: "errors.importAppRefused" },
      );
    throw invalid(
      `${provider.name}'s answer to the refresh was not a usable token response (${e.errorCode}). Nothing was stored.`,
      [{ path: "refresh_token", message: "validation.importRefreshUnusable" }],
      { key: "errors.importRefreshUnusable" },
    );
  }
}

/** The tenant in an access token this server just received from the provider's token endpoint. */
function provenTenant(provider: TProvider, accessToken: string) {
  try {
    return readTenantClaims(provider, accessToken);
  } catch (e) {
    if (!(e instanceof TokenEndpointError)) throw e;
    throw invalid(
      `${provider.name}'s refreshed access token carries no tenant id, so the tenant cannot be linked. Nothing was stored.`,
      [{ path: "refresh_token", message: "validation.importRefreshUnusable" }],
      { key: "errors.importRefreshUnusable" },
    );
  }
}

type NewConnection = {
  provider: TProvider;
  oauthAppId: string | null;
  name: string;
  settings: Record<string, unknown>;
  requestedScopes: string;
  grantedScopes: string;
  tenantId: string | null;
  account: { id: string | null; name: string | null; email: string | null };
  customerMetadata: Record<string, string>;
  providerMetadata: Record<string, string>;
  tokens: TokenSetData;
  refreshed: boolean;
  /** the refresh was refused: the grant is dead, consent is needed again */
  refused: TokenEndpointError | null;
};

/** The connection and its token set, in one transaction; retried while the database is unavailable. */
async function store(db: Db, organizationId: string, n: NewConnection): Promise<string> {
  const id = crypto.randomUUID();
  const now = new Date();
  const { plain, secret } = splitSettings(n.provider, n.settings);
  const active = !n.refused;
  await retryWhileUnavailable(() =>
    db.$transaction(async (tx) => {
      await tx.connection.create({
        data: {
          id,
          organizationId,
          providerId: n.provider.id,
          oauthAppId: n.oauthAppId,
          name: n.name,
          settings: JSON.stringify(plain),
          secretSettingsEnc: sealSecretSettings({ id, organizationId }, secret),
          requestedScopes: n.requestedScopes,
          scopes: n.grantedScopes,
          customerMetadata: JSON.stringify(n.customerMetadata),
          metadata: JSON.stringify(n.providerMetadata),
          externalTenantId: n.tenantId,
          accountId: n.account.id,
          accountName: n.account.name,
          accountEmail: n.account.email,
          status: active ? "active" : "needs_reconsent",
          connectedAt: now,
          expiresAt: n.tokens.expiresAt,
          refreshTokenExpiresAt: n.tokens.refreshTokenExpiresAt,
          lastRefreshedAt: n.refreshed ? now : null,
          nextRefreshAt: active
            ? nextRefreshAt({
                provider: n.provider,
                expiresAt: n.tokens.expiresAt,
                refreshTokenExpiresAt: n.tokens.refreshTokenExpiresAt,
                hasRefreshToken: Boolean(n.tokens.refreshToken),
                now,
              })
            : null,
          ...(n.refused
            ? {
                lastErrorCode: n.refused.errorCode,
                lastErrorMessage:
                  "The refresh token was refused when the connection was imported: consent is needed again.",
                lastErrorAt: now,
              }
            : {}),
        },
      });
      await saveTokenSet({ tx, organizationId, connectionId: id, data: n.tokens });
    }),
  );
  return id;
}

export async function importConnection({
  db,
  organizationId,
  input,
  actor,
}: {
  db: Db;
  organizationId: string;
  input: unknown;
  actor: Actor;
}): Promise<{ id: string; status: "active" | "needs_reconsent"; source: Source }> {
  const parsed = parseInput(input);
  const c =
    parsed.source === "export"
      ? await fromExport(db, organizationId, parsed.v, actor)
      : await fromMigration(db, organizationId, parsed.v, actor);
  const id = await store(db, organizationId, c.connection);
  const status = c.connection.refused ? "needs_reconsent" : "active";
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connection.imported",
      outcome: "success",
      target: { type: "connection", id },
      details: {
        source: parsed.source,
        provider: c.connection.provider.id,
        name: c.connection.name,
        status,
        refreshed: c.connection.refreshed,
        ...(c.sourceConnectionId ? { source_connection_id: c.sourceConnectionId } : {}),
        ...(c.connection.tenantId ? { tenantId: c.connection.tenantId } : {}),
      },
    },
    db,
  );
  await emitConnectionEvent({
    db,
    organizationId,
    connectionId: id,
    type: status === "active" ? "connection.connected" : "connection.needs_reconsent",
    ...(status === "active" ? {} : { data: { reason: "import_refresh_refused" } }),
  });
  return { id, status, source: parsed.source };
}

function deniedAudit(db: Db, organizationId: string, actor: Actor, source: Source, provider: string, tenantId: string) {
  return () =>
    recordAuditEvent(
      {
        organizationId,
        actor,
        action: "connection.imported",
        outcome: "denied",
        details: { source, provider, reason: "tenant_conflict", tenantId },
      },
      db,
    );
}

async function openFile(v: z.infer<typeof ZImportFromExport>): Promise<TExportPayload> {
  let plaintext: unknown;
  try {
    plaintext = await openEnvelope(v.file, v.passphrase);
  } catch (e) {
    throw e instanceof ExportFileError ? fileError(e) : e;
  }
  const p = ZExportPayload.safeParse(plaintext);
  if (!p.success)
    throw invalid(
      `The export file decrypted, but its contents are not a connection this Consentry reads (${p.error.issues[0]!.path.join(".") || "the payload"}).`,
      [{ path: "file", message: "validation.exportFileDamaged" }],
      { key: "errors.exportFileDamaged" },
    );
  return p.data;
}

async function fromExport(
  db: Db,
  organizationId: string,
  v: z.infer<typeof ZImportFromExport>,
  actor: Actor,
): Promise<{ connection: NewConnection; sourceConnectionId: string }> {
  const p = await openFile(v);
  const provider = knownProvider(p.provider, "file");
  const settings = await validSettings(provider, p.settings, "file.");
  const providerMetadata = validProviderMetadata(provider, p.provider_metadata);
  let oauthAppId: string | null = null;
  if (provider.authKind === "oauth2") {
    if (!p.oauth_app || p.oauth_app.provider !== provider.id)
      throw invalid(
        "The export file names no OAuth app for this provider.",
        [{ path: "file", message: "validation.exportFileDamaged" }],
        {
          key: "errors.exportFileDamaged",
        },
      );
    oauthAppId = await matchingApp(db, organizationId, provider, p.oauth_app.client_id, v.oauth_app_id);
    await assertAdminConsentAllowed(db, provider, settings, oauthAppId);
  }
  const denied = (tenant: string) => deniedAudit(db, organizationId, actor, "export", provider.id, tenant);
  // Microsoft's tenant decides whose data app-only tokens reach: it is linked only from a token this
  // server obtained itself (as consent does), never from what a file says.
  const tenantNeedsProof = Boolean(provider.tenantFromAccessToken);
  const fileTenant = p.tenant_id?.toLowerCase() ?? null;
  // checked before any refresh too, so that a refused import does not spend a rotating refresh token
  if (fileTenant) await assertTenantFree(db, provider, fileTenant, organizationId, denied(fileTenant));

  const fileTokens: TokenSetData = {
    accessToken: p.tokens.access_token,
    refreshToken: p.tokens.refresh_token,
    idToken: p.tokens.id_token,
    tokenType: p.tokens.token_type,
    // a grant without an expiry is treated as expired (a refresh tells)
    expiresAt: p.expires_at ? new Date(p.expires_at) : new Date(0),
    refreshTokenExpiresAt: p.refresh_token_expires_at ? new Date(p.refresh_token_expires_at) : null,
    scopes: p.granted_scopes,
    metadata: {},
  };
  const expired = fileTokens.expiresAt.getTime() - Date.now() < STILL_VALID_MS;
  const base = {
    provider,
    oauthAppId,
    name: p.name,
    settings,
    requestedScopes: p.requested_scopes.join(" "),
    customerMetadata: p.metadata,
  };
  const wantsRefresh = provider.authKind === "oauth2" && (expired || tenantNeedsProof);
  if (!wantsRefresh)
    return {
      sourceConnectionId: p.source.connection_id,
      connection: {
        ...base,
        grantedScopes: p.granted_scopes.join(" "),
        tenantId: fileTenant,
        account: p.account,
        providerMetadata,
        tokens: fileTokens,
        refreshed: false,
        refused: null,
      },
    };
  // nothing to refresh with: the grant cannot be proven or renewed here
  const r: Refreshed = fileTokens.refreshToken
    ? await refresh(db, organizationId, oauthAppId!, provider, settings, providerMetadata, fileTokens.refreshToken)
    : {
        ok: false,
        refused: new TokenEndpointError("needs_reconsent", "no_refresh_token", "The file holds no refresh token."),
      };
  if (!r.ok)
    return {
      sourceConnectionId: p.source.connection_id,
      connection: {
        ...base,
        grantedScopes: p.granted_scopes.join(" "),
        // an unproven tenant is not linked: the next consent links it
        tenantId: tenantNeedsProof ? null : fileTenant,
        account: tenantNeedsProof ? { id: null, name: null, email: null } : p.account,
        providerMetadata,
        tokens: fileTokens,
        refreshed: false,
        refused: r.refused,
      },
    };
  const claims = provenTenant(provider, r.data.accessToken);
  if (claims) {
    if (fileTenant && claims.tenantId !== fileTenant)
      throw invalid(
        `The refreshed tokens belong to tenant ${claims.tenantId}, not to ${fileTenant} as the file says. Nothing was stored.`,
        [{ path: "file", message: "validation.importTenantMismatch" }],
        { key: "errors.importTenantMismatch" },
      );
    await assertTenantFree(db, provider, claims.tenantId, organizationId, denied(claims.tenantId));
  }
  return {
    sourceConnectionId: p.source.connection_id,
    connection: {
      ...base,
      grantedScopes: r.data.scopes ? r.data.scopes.join(" ") : p.granted_scopes.join(" "),
      tenantId: claims?.tenantId ?? fileTenant,
      account: claims ? { id: claims.accountId, name: claims.accountName, email: claims.accountEmail } : p.account,
      providerMetadata: { ...providerMetadata, ...r.data.metadata },
      tokens: mergeRefreshed(fileTokens, r.data),
      refreshed: true,
      refused: null,
    },
  };
}

/** A refresh answer without a refresh token (or id token) keeps the one it was made with (RFC 6749 §6). */
function mergeRefreshed(
  before: Pick<TokenSetData, "refreshToken" | "idToken" | "refreshTokenExpiresAt">,
  data: TokenSetData,
) {
  return {
    ...data,
    refreshToken: data.refreshToken ?? before.refreshToken,
    idToken: data.idToken ?? before.idToken,
    refreshTokenExpiresAt: data.refreshToken ? data.refreshTokenExpiresAt : before.refreshTokenExpiresAt,
  };
}

async function fromMigration(
  db: Db,
  organizationId: string,
  v: z.infer<typeof ZImportMigration>,
  actor: Actor,
): Promise<{ connection: NewConnection; sourceConnectionId: null }> {
  const provider = knownProvider(v.provider, "provider");
  if (provider.authKind !== "oauth2")
    throw invalid(
      `${provider.name} uses API keys, which have no refresh token: create the connection with its api_key instead.`,
      [{ path: "provider", message: "validation.importNeedsOAuth" }],
    );
  const settings = await validSettings(provider, v.settings, "");
  const app = await findUsableOAuthApp(db, organizationId, provider.id, v.oauth_app_id);
  if (!app)
    throw invalid("No such OAuth app for this provider", [{ path: "oauth_app_id", message: "validation.appNotFound" }]);
  await assertAdminConsentAllowed(db, provider, settings, app.id);
  const denied = (tenant: string) => deniedAudit(db, organizationId, actor, "migration", provider.id, tenant);
  const givenTenant = v.tenant_id?.toLowerCase() ?? null;
  // checked before the refresh too, so that a refused migration does not spend a rotating refresh token
  if (givenTenant) await assertTenantFree(db, provider, givenTenant, organizationId, denied(givenTenant));

  const r = await refresh(db, organizationId, app.id, provider, settings, {}, v.refresh_token);
  if (!r.ok)
    throw invalid(
      `${provider.name} refused the refresh token (${r.refused.errorCode}): it is expired, revoked, or was issued to another client. Nothing was stored.`,
      [{ path: "refresh_token", message: "validation.importRefreshRefused" }],
      { key: "errors.importRefreshRefused" },
    );
  const claims = provenTenant(provider, r.data.accessToken);
  if (claims) {
    if (givenTenant && claims.tenantId !== givenTenant)
      throw invalid(
        `The refreshed access token belongs to tenant ${claims.tenantId}, not to tenant_id ${givenTenant}. Nothing was stored.`,
        [{ path: "tenant_id", message: "validation.importTenantMismatch" }],
        { key: "errors.importTenantMismatch" },
      );
    await assertTenantFree(db, provider, claims.tenantId, organizationId, denied(claims.tenantId));
  }
  const requested = [...new Set(v.scopes ?? provider.defaultScopes)].join(" ");
  return {
    sourceConnectionId: null,
    connection: {
      provider,
      oauthAppId: app.id,
      name: v.name,
      settings,
      requestedScopes: requested,
      grantedScopes: r.data.scopes ? r.data.scopes.join(" ") : requested,
      tenantId: claims?.tenantId ?? givenTenant,
      account: claims
        ? { id: claims.accountId, name: claims.accountName, email: claims.accountEmail }
        : { id: null, name: null, email: null },
      customerMetadata: v.metadata ?? {},
      providerMetadata: r.data.metadata,
      tokens: mergeRefreshed({ refreshToken: v.refresh_token, idToken: null, refreshTokenExpiresAt: null }, r.data),
      refreshed: true,
      refused: null,
    },
  };
}
