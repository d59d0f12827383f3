-- AlterTable
ALTER TABLE "OAuthApp" ADD COLUMN     "publisherTenantId" TEXT;

-- CreateTable
CREATE TABLE "ActivityListener" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "authIdEnc" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ActivityListener_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ActivitySubscription" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "webhookStatus" TEXT NOT NULL DEFAULT 'none',
    "startedAt" TIMESTAMP(3),
    "lastStartAt" TIMESTAMP(3),
    "lastNotificationAt" TIMESTAMP(3),
    "lastPolledAt" TIMESTAMP(3),
    "polledThrough" TIMESTAMP(3),
    "nextPollAt" TIMESTAMP(3),
    "pollAttempts" INTEGER NOT NULL DEFAULT 0,
    "lastErrorCode" TEXT,
    "lastErrorMessage" TEXT,
    "lastErrorAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ActivitySubscription_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ActivityContent" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "connectionId" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "contentId" TEXT NOT NULL,
    "contentUri" TEXT NOT NULL,
    "contentCreated" TIMESTAMP(3) NOT NULL,
    "contentExpiration" TIMESTAMP(3) NOT NULL,
    "source" TEXT NOT NULL,
    "acknowledgedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ActivityContent_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "ActivityListener" ADD CONSTRAINT "ActivityListener_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActivitySubscription" ADD CONSTRAINT "ActivitySubscription_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActivityContent" ADD CONSTRAINT "ActivityContent_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

