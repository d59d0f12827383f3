-- AlterTable
ALTER TABLE "OAuthApp" ADD COLUMN     "alertAt" TIMESTAMP(3),
ADD COLUMN     "alertCode" TEXT,
ADD COLUMN     "alertMessage" TEXT,
ADD COLUMN     "certificateKeyId" TEXT,
ADD COLUMN     "certificateNotAfter" TIMESTAMP(3),
ADD COLUMN     "redirectUri" TEXT;

-- AlterTable
ALTER TABLE "Connection" ADD COLUMN     "metadata" TEXT NOT NULL DEFAULT '{}';

-- AlterTable
ALTER TABLE "ConsentRequest" ADD COLUMN     "browserHash" TEXT,
ADD COLUMN     "redirectUri" TEXT,
ADD COLUMN     "requestedScopes" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "returnTo" TEXT,
ADD COLUMN     "stateExpiresAt" TIMESTAMP(3);

