import type { Db } from "@/lib/db/client";

/** An organization's connections for the portal list; never selects token columns. */
export async function listConnections({
  db,
  organizationId,
  take = 100,
}: {
  db: Db;
  organizationId: string;
  take?: number;
}) {
  return db.connection.findMany({
    where: { organizationId },
    select: {
      id: true,
      name: true,
      providerId: true,
      status: true,
      externalTenantId: true,
      accountName: true,
      accountEmail: true,
      expiresAt: true,
      refreshTokenExpiresAt: true,
      lastRefreshedAt: true,
      refreshAttempts: true,
      lastErrorCode: true,
      lastErrorMessage: true,
      createdAt: true,
    },
    orderBy: { createdAt: "desc" },
    take,
  });
}

export async function countConnectionsByStatus({ db, organizationId }: { db: Db; organizationId: string }) {
  const rows = await db.connection.groupBy({ by: ["status"], where: { organizationId }, _count: { _all: true } });
  return Object.fromEntries(rows.map((r) => [r.status, r._count._all])) as Record<string, number>;
}

/** Connections that need someone: consent again, failing refreshes, refresh tokens about to lapse. */
export async function listAttention({
  db,
  organizationId,
  warningDays,
}: {
  db: Db;
  organizationId: string;
  warningDays: number;
}) {
  const horizon = new Date(Date.now() + warningDays * 86400_000);
  return db.connection.findMany({
    where: {
      organizationId,
      OR: [
        { status: { in: ["needs_reconsent", "error"] } },
        { status: "active", refreshTokenExpiresAt: { lte: horizon } },
      ],
    },
    select: { id: true, name: true, status: true, refreshTokenExpiresAt: true, lastErrorCode: true },
    orderBy: { updatedAt: "desc" },
    take: 20,
  });
}
