-- AlterTable
ALTER TABLE "ConsentRequest" ADD COLUMN "connectSessionId" TEXT;

-- CreateTable
CREATE TABLE "ConnectSession" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "connectionId" TEXT,
    "newConnection" TEXT,
    "metadata" TEXT NOT NULL DEFAULT '{}',
    "allowedOrigins" TEXT NOT NULL,
    "returnUrl" TEXT,
    "mode" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "errorCode" TEXT,
    "tenantId" TEXT,
    "expiresAt" DATETIME NOT NULL,
    "openedAt" DATETIME,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "revokedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ConnectSession_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "ConnectSession_tokenHash_key" ON "ConnectSession"("tokenHash");

-- CreateIndex
CREATE INDEX "ConnectSession_organizationId_createdAt_idx" ON "ConnectSession"("organizationId", "createdAt");

