-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Connection" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "oauthAppId" TEXT,
    "name" TEXT NOT NULL,
    "settings" TEXT NOT NULL DEFAULT '{}',
    "status" TEXT NOT NULL DEFAULT 'pending_consent',
    "externalTenantId" TEXT,
    "accountId" TEXT,
    "accountName" TEXT,
    "accountEmail" TEXT,
    "scopes" TEXT NOT NULL DEFAULT '',
    "requestedScopes" TEXT NOT NULL DEFAULT '',
    "metadata" TEXT NOT NULL DEFAULT '{}',
    "customerMetadata" TEXT NOT NULL DEFAULT '{}',
    "secretSettingsEnc" TEXT,
    "connectedAt" DATETIME,
    "expiresAt" DATETIME,
    "refreshTokenExpiresAt" DATETIME,
    "lastRefreshedAt" DATETIME,
    "nextRefreshAt" DATETIME,
    "refreshAttempts" INTEGER NOT NULL DEFAULT 0,
    "refreshTokenWarnedAt" DATETIME,
    "lastErrorCode" TEXT,
    "lastErrorMessage" TEXT,
    "lastErrorAt" DATETIME,
    "leaseOwner" TEXT,
    "leaseUntil" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Connection_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Connection_oauthAppId_fkey" FOREIGN KEY ("oauthAppId") REFERENCES "OAuthApp" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Connection" ("accountEmail", "accountId", "accountName", "connectedAt", "createdAt", "expiresAt", "externalTenantId", "id", "lastErrorAt", "lastErrorCode", "lastErrorMessage", "lastRefreshedAt", "leaseOwner", "leaseUntil", "metadata", "name", "nextRefreshAt", "oauthAppId", "organizationId", "providerId", "refreshAttempts", "refreshTokenExpiresAt", "refreshTokenWarnedAt", "scopes", "settings", "status", "updatedAt") SELECT "accountEmail", "accountId", "accountName", "connectedAt", "createdAt", "expiresAt", "externalTenantId", "id", "lastErrorAt", "lastErrorCode", "lastErrorMessage", "lastRefreshedAt", "leaseOwner", "leaseUntil", "metadata", "name", "nextRefreshAt", "oauthAppId", "organizationId", "providerId", "refreshAttempts", "refreshTokenExpiresAt", "refreshTokenWarnedAt", "scopes", "settings", "status", "updatedAt" FROM "Connection";
DROP TABLE "Connection";
ALTER TABLE "new_Connection" RENAME TO "Connection";
CREATE INDEX "Connection_organizationId_providerId_idx" ON "Connection"("organizationId", "providerId");
CREATE INDEX "Connection_organizationId_status_idx" ON "Connection"("organizationId", "status");
CREATE INDEX "Connection_status_nextRefreshAt_idx" ON "Connection"("status", "nextRefreshAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;


-- Until now "scopes" held the requested scopes before consent and the granted ones after it: both
-- columns start from it, and a connection never consented has been granted nothing yet.
UPDATE "Connection" SET "requestedScopes" = "scopes";
UPDATE "Connection" SET "scopes" = '' WHERE "status" = 'pending_consent' AND "connectedAt" IS NULL;
