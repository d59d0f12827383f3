import type { Db } from "@/lib/db/client";

/**
 * A page of an organization's connections for the portal list, newest first; never selects token
 * columns. `cursor` is the id of the last row of the previous page (one of this organization's).
 */
export async function listConnections({
  db,
  organizationId,
  take = 50,
  cursor,
}: {
  db: Db;
  organizationId: string;
  take?: number;
  cursor?: string;
}) {
  const from =
    cursor && /^[A-Za-z0-9-]{1,64}$/.test(cursor)
      ? await db.connection.findFirst({ where: { id: cursor, organizationId }, select: { id: true } })
      : null;
  const rows = await db.connection.findMany({
    where: { organizationId },
    ...(from ? { cursor: { id: from.id }, skip: 1 } : {}),
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
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: take + 1,
  });
  const page = rows.slice(0, take);
  return { rows: page, nextCursor: rows.length > take ? page[page.length - 1]!.id : null, paged: Boolean(from) };
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
