// A person changes their own local password: the current one, the new one twice. The same call ends
// the "choose your own password" state of a password someone else chose (lib/users/add-member.ts,
// the CLI's set-password); from then on only the new password signs in.
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

export const MIN_PASSWORD_LENGTH = 12;

export const ZChangePassword = z
  .object({
    currentPassword: z.string().min(1, "validation.currentPasswordRequired").max(500),
    newPassword: z
      .string()
      .min(MIN_PASSWORD_LENGTH, "validation.passwordTooShort")
      .max(500, "validation.passwordTooLong"),
    confirmPassword: z.string().max(500),
  })
  .superRefine((v, ctx) => {
    if (v.confirmPassword !== v.newPassword)
      ctx.addIssue({ code: "custom", path: ["confirmPassword"], message: "validation.passwordMismatch" });
    if (v.newPassword && v.newPassword === v.currentPassword)
      ctx.addIssue({ code: "custom", path: ["newPassword"], message: "validation.passwordUnchanged" });
  });
export type TChangePassword = z.input<typeof ZChangePassword>;

const checkFields = (errors: Array<{ path: string; message: string }>) =>
  new AppError("validation", "Check the highlighted fields.", { errors, i18n: { key: "errors.checkFields" } });

export async function changePassword({
  db,
  userId,
  input,
  actor,
}: {
  db: Db;
  userId: string;
  input: unknown;
  actor: Actor;
}): Promise<{ wasRequired: boolean }> {
  const parsed = ZChangePassword.safeParse(input);
  if (!parsed.success) throw checkFields(fieldErrors(parsed.error.issues));
  const user = await db.user.findUnique({
    where: { id: userId },
    select: { id: true, passwordHash: true, mustChangePassword: true },
  });
  if (!user) throw new AppError("not-found", "No such user");
  if (!user.passwordHash)
    throw new AppError("conflict", "This account signs in with OpenID Connect; it has no password here.", {
      i18n: { key: "errors.noLocalPassword" },
    });
  const audit = (outcome: "success" | "failure", details: Record<string, unknown>) =>
    recordAuditEvent(
      {
        organizationId: null,
        actor,
        action: "user.password_changed",
        outcome,
        target: { type: "user", id: userId },
        details,
      },
      db,
    );
  if (!(await verifyPassword(parsed.data.currentPassword, user.passwordHash))) {
    await audit("failure", { reason: "current_wrong" });
    throw checkFields([{ path: "currentPassword", message: "validation.currentPasswordWrong" }]);
  }
  // compare-and-set: a change made meanwhile (another tab, the CLI) is not silently overwritten
  const { count } = await db.user.updateMany({
    where: { id: userId, passwordHash: user.passwordHash },
    data: { passwordHash: await hashPassword(parsed.data.newPassword), mustChangePassword: false },
  });
  if (count !== 1) {
    await audit("failure", { reason: "changed_meanwhile" });
    throw checkFields([{ path: "currentPassword", message: "validation.currentPasswordWrong" }]);
  }
  await audit("success", { required: user.mustChangePassword });
  return { wasRequired: user.mustChangePassword };
}
