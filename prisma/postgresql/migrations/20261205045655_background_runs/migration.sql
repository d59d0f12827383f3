-- CreateTable
CREATE TABLE "BackgroundRun" (
    "name" TEXT NOT NULL,
    "finishedAt" TIMESTAMP(3) NOT NULL,
    "summary" TEXT NOT NULL DEFAULT '{}',

    CONSTRAINT "BackgroundRun_pkey" PRIMARY KEY ("name")
);

