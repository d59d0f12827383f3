import type { Db } from "@/lib/db/client";

/** The organizations a user belongs to (staff: every organization), for the switcher. */
export async function listUserOrganizations({ db, userId, isStaff }: { db: Db; userId: string; isStaff: boolean }) {
  const rows = await db.organization.findMany({
    where: isStaff ? {} : { memberships: { some: { userId } } },
    select: { slug: true, name: true, memberships: { where: { userId }, select: { role: true } } },
    orderBy: { name: "asc" },
    take: 200,
  });
  return rows.map((o) => ({ slug: o.slug, name: o.name, member: o.memberships.length > 0 }));
}
