import type { Db } from "@/lib/db/client";
import { ZRole, type TRole } from "@/lib/auth/roles";

/**
 * What a user may do in an organization: their membership role, or "admin" for platform staff
 * (operators manage every organization). null when the organization is unknown or not theirs.
 */
export async function resolveOrgAccess({
  db,
  userId,
  isStaff,
  slug,
}: {
  db: Db;
  userId: string;
  isStaff: boolean;
  slug: string;
}) {
  const org = await db.organization.findUnique({
    where: { slug },
    select: { id: true, slug: true, name: true, memberships: { where: { userId }, select: { role: true } } },
  });
  if (!org) return null;
  const member = org.memberships[0];
  const role: TRole | null = member ? ZRole.parse(member.role) : isStaff ? "admin" : null;
  if (!role) return null;
  return { org: { id: org.id, slug: org.slug, name: org.name }, role };
}
