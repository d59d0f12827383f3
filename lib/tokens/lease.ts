// An atomic lease on a connection: one conditional UPDATE, the same on SQLite and PostgreSQL. Only
// the holder sends the refresh token; a lease held by a dead process simply runs out.
import type { Db } from "@/lib/db/client";

export const LEASE_MS = 60_000;

export async function claimLease({
  db,
  connectionId,
  owner,
  now = new Date(),
  ttlMs = LEASE_MS,
}: {
  db: Db;
  connectionId: string;
  owner: string;
  now?: Date;
  ttlMs?: number;
}): Promise<boolean> {
  const { count } = await db.connection.updateMany({
    where: { id: connectionId, OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }] },
    data: { leaseOwner: owner, leaseUntil: new Date(now.getTime() + ttlMs) },
  });
  return count === 1;
}

export async function releaseLease({ db, connectionId, owner }: { db: Db; connectionId: string; owner: string }) {
  await db.connection.updateMany({
    where: { id: connectionId, leaseOwner: owner },
    data: { leaseOwner: null, leaseUntil: null },
  });
}
