-- CreateTable
CREATE TABLE "BackgroundRun" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "finishedAt" DATETIME NOT NULL,
    "summary" TEXT NOT NULL DEFAULT '{}'
);

