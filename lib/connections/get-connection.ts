import type { Db } from "@/lib/db/client";

/** One connection of an organization for the portal, with its open consent links; no token columns. */
export async function getConnection({
  db,
  organizationId,
  connectionId,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
}) {
  return db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: {
      id: true,
      name: true,
      providerId: true,
      status: true,
      organizationId: true,
      settings: true,
      secretSettingsEnc: true,
      scopes: true,
      requestedScopes: true,
      customerMetadata: true,
      metadata: true,
      externalTenantId: true,
      accountId: true,
      accountName: true,
      accountEmail: true,
      connectedAt: true,
      expiresAt: true,
      refreshTokenExpiresAt: true,
      lastRefreshedAt: true,
      nextRefreshAt: true,
      refreshAttempts: true,
      lastErrorCode: true,
      lastErrorMessage: true,
      lastErrorAt: true,
      createdAt: true,
      oauthApp: {
        select: {
          id: true,
          name: true,
          clientId: true,
          redirectUri: true,
          organizationId: true,
          certificateThumbprint: true,
        },
      },
      tokenSet: { select: { tokenType: true, version: true, updatedAt: true } },
      consentRequests: {
        where: { linkTokenHash: { not: null }, usedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
        select: { id: true, expiresAt: true, createdAt: true },
        orderBy: { createdAt: "desc" },
      },
    },
  });
}
