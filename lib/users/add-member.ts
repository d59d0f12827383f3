// Adds a person to an organization. An existing user gets a membership at once; anyone else gets
// an invitation that turns into a membership at their first sign-in — or, where the local password
// sign-in is on, an account with a one-time password returned to the caller to hand over: it signs
// in once, and the portal then asks the person to choose their own (lib/auth/guards.ts).
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { ZRole } from "@/lib/auth/roles";
import { generatePassword, hashPassword } from "@/lib/auth/password";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

export const ZAddMember = z.object({
  email: z.email("validation.email").transform((e) => e.trim().toLowerCase()),
  role: ZRole,
});

const INVITATION_DAYS = 14;

export async function addMember({
  db,
  organizationId,
  input,
  actor,
  localLogin,
}: {
  db: Db;
  organizationId: string;
  input: unknown;
  actor: Actor;
  localLogin: boolean;
}) {
  const parsed = ZAddMember.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const { email, role } = parsed.data;
  const result = await db.$transaction(async (tx) => {
    let user = await tx.user.findUnique({ where: { email }, select: { id: true } });
    let password: string | undefined;
    if (!user && localLogin) {
      password = generatePassword();
      user = await tx.user.create({
        data: { email, passwordHash: await hashPassword(password), mustChangePassword: true },
        select: { id: true },
      });
    }
    if (user) {
      const existing = await tx.membership.findUnique({
        where: { organizationId_userId: { organizationId, userId: user.id } },
      });
      if (existing)
        throw new AppError("conflict", `${email} is already a member.`, {
          errors: [{ path: "email", message: "validation.alreadyMember" }],
          i18n: { key: "errors.alreadyMember", values: { email } },
        });
      await tx.membership.create({ data: { organizationId, userId: user.id, role } });
      return { kind: "member" as const, email, role, password };
    }
    await tx.invitation.upsert({
      where: { organizationId_email: { organizationId, email } },
      create: {
        organizationId,
        email,
        role,
        invitedByUserId: "id" in actor ? actor.id : null,
        expiresAt: new Date(Date.now() + INVITATION_DAYS * 86400_000),
      },
      update: { role, acceptedAt: null, expiresAt: new Date(Date.now() + INVITATION_DAYS * 86400_000) },
    });
    return { kind: "invited" as const, email, role, password: undefined };
  });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: result.kind === "member" ? "member.added" : "member.invited",
      outcome: "success",
      details: { email, role },
    },
    db,
  );
  return result;
}
