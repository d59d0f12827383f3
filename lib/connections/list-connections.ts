import type { Db } from "@/lib/db/client";

/** An organization's connections for the portal list; never selects token columns. */
export async function listConnections({ db, organizationId, take = 100 }: { db: Db; organizationId: string; take?: number }) {
  return db.connection.findMany({
    where: { organizationId },
    select: {
      id: true, name: true, providerId: true, status: true, externalTenantId: true, accountName: true, accountEmail: true,
      expiresAt: true, lastRefreshedAt: true, lastErrorMessage: true, createdAt: true,
    },
    orderBy: { createdAt: "desc" },
    take,
  });
}

export async function countConnectionsByStatus({ db, organizationId }: { db: Db; organizationId: string }) {
  const rows = await db.connection.groupBy({ by: ["status"], where: { organizationId }, _count: { _all: true } });
  return Object.fromEntries(rows.map((r) => [r.status, r._count._all])) as Record<string, number>;
}
