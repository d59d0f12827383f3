// The local password sign-in's check (next-auth's Credentials provider calls it): the account, its
// password, the audit event either way. A password someone else chose (an admin adding a person, the
// CLI's set-password) signs in once; the portal then asks for the person's own (lib/auth/guards.ts).
import type { Db } from "@/lib/db/client";
import { verifyPassword } from "@/lib/auth/password";
import { recordAuditEvent } from "@/lib/audit/record-audit-event";

export type TPasswordSignIn = { id: string; email: string; name: string | null; mustChangePassword: boolean };

/** The user when the e-mail and password match, else null (the same work either way). */
export async function checkPasswordSignIn({
  db,
  email,
  password,
}: {
  db: Db;
  email: string;
  password: string;
}): Promise<TPasswordSignIn | null> {
  const user = await db.user.findUnique({
    where: { email: email.toLowerCase() },
    select: { id: true, email: true, name: true, passwordHash: true, mustChangePassword: true },
  });
  const ok = await verifyPassword(password, user?.passwordHash);
  await recordAuditEvent(
    {
      organizationId: null,
      actor: user ? { type: "user", id: user.id, label: user.email } : { type: "anonymous", label: email },
      action: "auth.sign_in",
      outcome: ok ? "success" : "failure",
      details: { method: "password", ...(ok && user?.mustChangePassword ? { firstSignIn: true } : {}) },
    },
    db,
  );
  if (!ok || !user) return null;
  await db.user.update({ where: { id: user.id }, data: { lastSignInAt: new Date() } });
  return { id: user.id, email: user.email, name: user.name, mustChangePassword: user.mustChangePassword };
}
