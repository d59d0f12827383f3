-- AlterTable
ALTER TABLE "OAuthApp" ADD COLUMN "publisherTenantId" TEXT;

-- CreateTable
CREATE TABLE "ActivityListener" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "authIdEnc" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ActivityListener_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ActivitySubscription" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "webhookStatus" TEXT NOT NULL DEFAULT 'none',
    "startedAt" DATETIME,
    "lastStartAt" DATETIME,
    "lastNotificationAt" DATETIME,
    "lastPolledAt" DATETIME,
    "polledThrough" DATETIME,
    "nextPollAt" DATETIME,
    "pollAttempts" INTEGER NOT NULL DEFAULT 0,
    "lastErrorCode" TEXT,
    "lastErrorMessage" TEXT,
    "lastErrorAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "ActivitySubscription_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ActivityContent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "organizationId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "contentId" TEXT NOT NULL,
    "contentUri" TEXT NOT NULL,
    "contentCreated" DATETIME NOT NULL,
    "contentExpiration" DATETIME NOT NULL,
    "source" TEXT NOT NULL,
    "acknowledgedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ActivityContent_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "ActivityListener_connectionId_key" ON "ActivityListener"("connectionId");

-- CreateIndex
CREATE INDEX "ActivitySubscription_status_nextPollAt_idx" ON "ActivitySubscription"("status", "nextPollAt");

-- CreateIndex
CREATE UNIQUE INDEX "ActivitySubscription_connectionId_contentType_key" ON "ActivitySubscription"("connectionId", "contentType");

-- CreateIndex
CREATE INDEX "ActivityContent_connectionId_contentCreated_id_idx" ON "ActivityContent"("connectionId", "contentCreated", "id");

-- CreateIndex
CREATE INDEX "ActivityContent_contentExpiration_idx" ON "ActivityContent"("contentExpiration");

-- CreateIndex
CREATE UNIQUE INDEX "ActivityContent_connectionId_contentId_key" ON "ActivityContent"("connectionId", "contentId");

