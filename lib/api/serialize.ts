import type { z } from "zod";
import type { ZConnectionOut } from "@/lib/api/schemas";
import { secretSettingKeys } from "@/lib/connections/secret-settings";

type Row = {
  id: string;
  name: string;
  providerId: string;
  status: string;
  externalTenantId: string | null;
  accountId: string | null;
  accountName: string | null;
  accountEmail: string | null;
  scopes: string;
  requestedScopes: string;
  customerMetadata: string;
  secretSettingsEnc: string | null;
  organizationId: string;
  settings: string;
  createdAt: Date;
  connectedAt: Date | null;
  expiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
  lastRefreshedAt: Date | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  lastErrorAt: Date | null;
};

/** The columns serializeConnection needs; never a token column. */
export const CONNECTION_OUT_SELECT = {
  id: true,
  name: true,
  providerId: true,
  status: true,
  externalTenantId: true,
  accountId: true,
  accountName: true,
  accountEmail: true,
  scopes: true,
  requestedScopes: true,
  customerMetadata: true,
  // only which secret settings are set is shown, never their values
  secretSettingsEnc: true,
  organizationId: true,
  settings: true,
  createdAt: true,
  connectedAt: true,
  expiresAt: true,
  refreshTokenExpiresAt: true,
  lastRefreshedAt: true,
  lastErrorCode: true,
  lastErrorMessage: true,
  lastErrorAt: true,
} as const;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function serializeConnection(c: Row): z.infer<typeof ZConnectionOut> {
  return {
    id: c.id,
    name: c.name,
    provider: c.providerId,
    status: c.status as z.infer<typeof ZConnectionOut>["status"],
    tenant_id: c.externalTenantId,
    account: { id: c.accountId, name: c.accountName, email: c.accountEmail },
    scopes: c.requestedScopes.split(" ").filter(Boolean),
    granted_scopes: c.scopes.split(" ").filter(Boolean),
    settings: JSON.parse(c.settings) as Record<string, unknown>,
    secret_settings: secretSettingKeys(c),
    metadata: JSON.parse(c.customerMetadata) as Record<string, string>,
    created_at: c.createdAt.toISOString(),
    connected_at: iso(c.connectedAt),
    expires_at: c.status === "revoked" ? null : iso(c.expiresAt),
    refresh_token_expires_at: iso(c.refreshTokenExpiresAt),
    last_refreshed_at: iso(c.lastRefreshedAt),
    last_error: c.lastErrorCode ? { code: c.lastErrorCode, message: c.lastErrorMessage, at: iso(c.lastErrorAt) } : null,
  };
}
