import type { Db } from "@/lib/db/client";

/** Every organization with member and connection counts (staff view). */
export async function listAllOrganizations({ db }: { db: Db }) {
  return db.organization.findMany({
    select: {
      id: true,
      slug: true,
      name: true,
      createdAt: true,
      _count: { select: { memberships: true, connections: true } },
    },
    orderBy: { createdAt: "desc" },
    take: 500,
  });
}
