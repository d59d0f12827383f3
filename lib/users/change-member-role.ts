// Changes a member's role in one organization. Admins manage members and admins; only owners make or
// unmake owners; the organization always keeps an owner (the last one cannot step down).
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { ZRole, roleAtLeast, type TRole } from "@/lib/auth/roles";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

export async function changeMemberRole({
  db,
  organizationId,
  membershipId,
  role: input,
  actingRole,
  actor,
}: {
  db: Db;
  organizationId: string;
  membershipId: string;
  role: unknown;
  /** the acting person's role in this organization (staff act as admin) */
  actingRole: TRole;
  actor: Actor;
}) {
  const parsed = ZRole.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: [{ path: "role", message: "validation.invalidChoice" }],
      i18n: { key: "errors.checkFields" },
    });
  const role = parsed.data;
  if (!roleAtLeast(actingRole, "admin"))
    throw new AppError("forbidden", "Only admins and owners change roles.", { i18n: { key: "errors.adminOnly" } });
  return db.$transaction(async (tx) => {
    // The organization's row first: concurrent role changes in one organization wait for each other, so
    // two owners stepping down at once cannot both see the other one still there (PostgreSQL row lock;
    // SQLite has one writer anyway). Its write also starts the transaction with a write (SQLite).
    await tx.organization.update({ where: { id: organizationId }, data: { updatedAt: new Date() } });
    // another organization's membership is indistinguishable from a missing one
    const m = await tx.membership.findFirst({
      where: { id: membershipId, organizationId },
      select: { id: true, role: true, userId: true, user: { select: { email: true } } },
    });
    if (!m) throw new AppError("not-found", "Member not found", { i18n: { key: "errors.memberNotFound" } });
    const from = ZRole.parse(m.role);
    if (from === role) return { membershipId: m.id, role, changed: false };
    if ((from === "owner" || role === "owner") && actingRole !== "owner")
      throw new AppError("forbidden", "Only owners make or unmake owners.", { i18n: { key: "errors.ownerOnly" } });
    if (from === "owner" && (await tx.membership.count({ where: { organizationId, role: "owner" } })) <= 1)
      throw new AppError("conflict", "An organization keeps at least one owner.", {
        i18n: { key: "errors.lastOwner" },
      });
    await tx.membership.update({ where: { id: m.id }, data: { role } });
    await recordAuditEvent(
      {
        organizationId,
        actor,
        action: "member.role_changed",
        outcome: "success",
        target: { type: "membership", id: m.id },
        details: { email: m.user.email, from, to: role },
      },
      tx,
    );
    return { membershipId: m.id, role, changed: true };
  });
}
