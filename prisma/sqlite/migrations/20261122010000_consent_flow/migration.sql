-- AlterTable
ALTER TABLE "OAuthApp" ADD COLUMN "alertAt" DATETIME;
ALTER TABLE "OAuthApp" ADD COLUMN "alertCode" TEXT;
ALTER TABLE "OAuthApp" ADD COLUMN "alertMessage" TEXT;
ALTER TABLE "OAuthApp" ADD COLUMN "certificateKeyId" TEXT;
ALTER TABLE "OAuthApp" ADD COLUMN "certificateNotAfter" DATETIME;
ALTER TABLE "OAuthApp" ADD COLUMN "redirectUri" TEXT;

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
    "metadata" TEXT NOT NULL DEFAULT '{}',
    "connectedAt" DATETIME,
    "expiresAt" DATETIME,
    "refreshTokenExpiresAt" DATETIME,
    "lastRefreshedAt" DATETIME,
    "nextRefreshAt" DATETIME,
    "refreshAttempts" INTEGER NOT NULL DEFAULT 0,
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
INSERT INTO "new_Connection" ("accountEmail", "accountId", "accountName", "connectedAt", "createdAt", "expiresAt", "externalTenantId", "id", "lastErrorAt", "lastErrorCode", "lastErrorMessage", "lastRefreshedAt", "leaseOwner", "leaseUntil", "name", "nextRefreshAt", "oauthAppId", "organizationId", "providerId", "refreshAttempts", "refreshTokenExpiresAt", "scopes", "settings", "status", "updatedAt") SELECT "accountEmail", "accountId", "accountName", "connectedAt", "createdAt", "expiresAt", "externalTenantId", "id", "lastErrorAt", "lastErrorCode", "lastErrorMessage", "lastRefreshedAt", "leaseOwner", "leaseUntil", "name", "nextRefreshAt", "oauthAppId", "organizationId", "providerId", "refreshAttempts", "refreshTokenExpiresAt", "scopes", "settings", "status", "updatedAt" FROM "Connection";
DROP TABLE "Connection";
ALTER TABLE "new_Connection" RENAME TO "Connection";
CREATE INDEX "Connection_organizationId_providerId_idx" ON "Connection"("organizationId", "providerId");
CREATE INDEX "Connection_organizationId_status_idx" ON "Connection"("organizationId", "status");
CREATE INDEX "Connection_status_nextRefreshAt_idx" ON "Connection"("status", "nextRefreshAt");
CREATE TABLE "new_ConsentRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "stateHash" TEXT,
    "pkceVerifierEnc" TEXT,
    "linkTokenHash" TEXT,
    "stateExpiresAt" DATETIME,
    "redirectUri" TEXT,
    "browserHash" TEXT,
    "requestedScopes" TEXT NOT NULL DEFAULT '',
    "returnTo" TEXT,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME,
    "revokedAt" DATETIME,
    "createdByUserId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ConsentRequest_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ConsentRequest_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_ConsentRequest" ("connectionId", "createdAt", "createdByUserId", "expiresAt", "id", "linkTokenHash", "organizationId", "pkceVerifierEnc", "providerId", "revokedAt", "stateHash", "usedAt") SELECT "connectionId", "createdAt", "createdByUserId", "expiresAt", "id", "linkTokenHash", "organizationId", "pkceVerifierEnc", "providerId", "revokedAt", "stateHash", "usedAt" FROM "ConsentRequest";
DROP TABLE "ConsentRequest";
ALTER TABLE "new_ConsentRequest" RENAME TO "ConsentRequest";
CREATE UNIQUE INDEX "ConsentRequest_stateHash_key" ON "ConsentRequest"("stateHash");
CREATE UNIQUE INDEX "ConsentRequest_linkTokenHash_key" ON "ConsentRequest"("linkTokenHash");
CREATE INDEX "ConsentRequest_organizationId_connectionId_idx" ON "ConsentRequest"("organizationId", "connectionId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

