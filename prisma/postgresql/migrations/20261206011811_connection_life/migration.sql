-- AlterTable
ALTER TABLE "Connection" ADD COLUMN     "customerMetadata" TEXT NOT NULL DEFAULT '{}',
ADD COLUMN     "requestedScopes" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "secretSettingsEnc" TEXT;


-- Until now "scopes" held the requested scopes before consent and the granted ones after it: both
-- columns start from it, and a connection never consented has been granted nothing yet.
UPDATE "Connection" SET "requestedScopes" = "scopes";
UPDATE "Connection" SET "scopes" = '' WHERE "status" = 'pending_consent' AND "connectedAt" IS NULL;
