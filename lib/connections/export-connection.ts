// Exports one connection as a passphrase-encrypted file (lib/crypto/export-envelope.ts) that another
// organization or installation imports (lib/connections/import-connection.ts). The file holds what
// belongs to the connection — settings (secret ones too), scopes, tenant, account, metadata, tokens and
// their expiry — and only the public identity of its OAuth app (client id, provider, redirect URI):
// never the app's client secret, private key or certificate, nor any key of this installation.
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { ZMetadata } from "@/lib/connections/schemas";
import { allSettings } from "@/lib/connections/secret-settings";
import { ZPassphrase, sealEnvelope, type TExportEnvelope } from "@/lib/crypto/export-envelope";
import { openTokenSet } from "@/lib/tokens/open-token-set";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

/** Connections that hold a grant worth moving. */
export const EXPORTABLE_STATUSES = ["active", "needs_reconsent", "error"] as const;

const ZIso = z.iso.datetime({ offset: true });
const ZTokenText = z.string().min(1).max(16_384);

/** What the envelope of version 1 encrypts. */
export const ZExportPayload = z.object({
  provider: z.string().regex(/^[a-z0-9-]{1,64}$/),
  name: z.string().trim().min(1).max(100),
  status: z.enum(EXPORTABLE_STATUSES),
  /** every setting, secret ones included */
  settings: z.record(z.string(), z.unknown()),
  requested_scopes: z.array(z.string().max(200)).max(200),
  granted_scopes: z.array(z.string().max(200)).max(200),
  tenant_id: z.string().max(64).nullable(),
  account: z.object({
    id: z.string().max(512).nullable(),
    name: z.string().max(512).nullable(),
    email: z.string().max(512).nullable(),
  }),
  /** the customer's own keys and values */
  metadata: ZMetadata,
  /** what the provider said (Zoho's api_domain) and host.* choices of the consent */
  provider_metadata: z.record(z.string().max(64), z.string().max(2048)),
  tokens: z.object({
    access_token: ZTokenText,
    refresh_token: ZTokenText.nullable(),
    id_token: ZTokenText.nullable(),
    token_type: z.string().min(1).max(64),
  }),
  expires_at: ZIso.nullable(),
  refresh_token_expires_at: ZIso.nullable(),
  connected_at: ZIso.nullable(),
  /** the app the grant was issued to: its public identity only */
  oauth_app: z
    .object({
      client_id: z.string().min(1).max(512),
      provider: z.string().max(64),
      redirect_uri: z.string().nullable(),
    })
    .nullable(),
  source: z.object({ connection_id: z.string().max(64), exported_at: ZIso }),
});
export type TExportPayload = z.infer<typeof ZExportPayload>;

export const ZExportRequest = z.object({ passphrase: ZPassphrase }).strict();

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const split = (s: string) => s.split(" ").filter(Boolean);

export async function exportConnection({
  db,
  organizationId,
  connectionId,
  input,
  actor,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  /** `{ passphrase }` */
  input: unknown;
  actor: Actor;
}): Promise<{ envelope: TExportEnvelope; filename: string }> {
  const parsed = ZExportRequest.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const c = await db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: {
      id: true,
      organizationId: true,
      providerId: true,
      name: true,
      status: true,
      settings: true,
      secretSettingsEnc: true,
      requestedScopes: true,
      scopes: true,
      externalTenantId: true,
      accountId: true,
      accountName: true,
      accountEmail: true,
      customerMetadata: true,
      metadata: true,
      expiresAt: true,
      refreshTokenExpiresAt: true,
      connectedAt: true,
      oauthApp: { select: { clientId: true, providerId: true, redirectUri: true } },
      tokenSet: { select: { accessTokenEnc: true, refreshTokenEnc: true, idTokenEnc: true, tokenType: true } },
    },
  });
  if (!c)
    throw new AppError("not-found", `No connection ${connectionId} in this organization.`, {
      i18n: { key: "errors.connectionNotFound" },
    });
  const status = EXPORTABLE_STATUSES.find((s) => s === c.status);
  if (!status || !c.tokenSet)
    throw new AppError(
      "needs-reconsent",
      `Only active, needs_reconsent and error connections that hold tokens can be exported; this one is ${c.status}${c.tokenSet ? "" : " and holds no tokens"}. Connect it first.`,
      {
        extra: { reason: "not_exportable" },
        i18n: { key: "errors.exportNotExportable", values: { status: c.status } },
      },
    );
  const tokens = openTokenSet({ organizationId, connectionId: c.id }, c.tokenSet);
  const now = new Date();
  const payload: TExportPayload = {
    provider: c.providerId,
    name: c.name,
    status,
    settings: allSettings(c),
    requested_scopes: split(c.requestedScopes),
    granted_scopes: split(c.scopes),
    tenant_id: c.externalTenantId,
    account: { id: c.accountId, name: c.accountName, email: c.accountEmail },
    metadata: JSON.parse(c.customerMetadata) as Record<string, string>,
    provider_metadata: JSON.parse(c.metadata) as Record<string, string>,
    tokens: {
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
      id_token: tokens.idToken,
      token_type: tokens.tokenType,
    },
    expires_at: iso(c.expiresAt),
    refresh_token_expires_at: iso(c.refreshTokenExpiresAt),
    connected_at: iso(c.connectedAt),
    oauth_app: c.oauthApp
      ? { client_id: c.oauthApp.clientId, provider: c.oauthApp.providerId, redirect_uri: c.oauthApp.redirectUri }
      : null,
    source: { connection_id: c.id, exported_at: now.toISOString() },
  };
  const envelope = await sealEnvelope(payload, parsed.data.passphrase, now);
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connection.exported",
      outcome: "success",
      target: { type: "connection", id: c.id },
      details: { provider: c.providerId, name: c.name, status: c.status, format_version: envelope.version },
    },
    db,
  );
  return { envelope, filename: `consentry-${c.providerId}-${c.id.replace(/[^A-Za-z0-9_-]/g, "_")}.json` };
}
