import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { type TRole } from "@/lib/auth/roles";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

/** Removes a membership of this organization. Admins cannot remove owners; the last owner stays. */
export async function removeMember({
  db,
  organizationId,
  membershipId,
  actingRole,
  actor,
}: {
  db: Db;
  organizationId: string;
  membershipId: string;
  actingRole: TRole;
  actor: Actor;
}) {
  await db.$transaction(async (tx) => {
    // concurrent removals and role changes in one organization wait for each other (lib/users/change-member-role.ts)
    await tx.organization.update({ where: { id: organizationId }, data: { updatedAt: new Date() } });
    const m = await tx.membership.findFirst({
      where: { id: membershipId, organizationId },
      select: { id: true, role: true, user: { select: { email: true } } },
    });
    if (!m) throw new AppError("not-found", "Member not found", { i18n: { key: "errors.memberNotFound" } });
    if (m.role === "owner" && actingRole !== "owner")
      throw new AppError("forbidden", "Only owners can remove owners.", { i18n: { key: "errors.ownerOnly" } });
    if (m.role === "owner" && (await tx.membership.count({ where: { organizationId, role: "owner" } })) <= 1) {
      throw new AppError("conflict", "An organization keeps at least one owner.", {
        i18n: { key: "errors.lastOwner" },
      });
    }
    await tx.membership.delete({ where: { id: m.id } });
    await recordAuditEvent(
      {
        organizationId,
        actor,
        action: "member.removed",
        outcome: "success",
        target: { type: "membership", id: m.id },
        details: { email: m.user.email, role: m.role },
      },
      tx,
    );
  });
}
