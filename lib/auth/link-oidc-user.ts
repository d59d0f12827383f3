// Finds or creates the Consentry user behind an OpenID Connect identity, and turns pending
// invitations for their e-mail address into memberships.
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { recordAuditEvent } from "@/lib/audit/record-audit-event";

type Profile = { sub?: unknown; email?: unknown; preferred_username?: unknown; name?: unknown };

export async function linkOidcUser({ issuer, profile }: { issuer: string; profile: Profile }) {
  const sub = typeof profile.sub === "string" ? profile.sub : null;
  const emailRaw = [profile.email, profile.preferred_username].find((v) => typeof v === "string" && v.includes("@")) as
    string | undefined;
  if (!sub || !emailRaw) return null;
  const email = emailRaw.toLowerCase();
  const subject = `${issuer}|${sub}`;
  const name = typeof profile.name === "string" ? profile.name : null;

  const user = await db().$transaction(async (tx) => {
    const bySubject = await tx.user.findUnique({ where: { oidcSubject: subject } });
    const existing = bySubject ?? (await tx.user.findFirst({ where: { email, oidcSubject: null } }));
    const u = existing
      ? await tx.user.update({
          where: { id: existing.id },
          data: { oidcSubject: subject, lastSignInAt: new Date(), ...(name ? { name } : {}) },
        })
      : await tx.user.create({
          data: {
            email,
            name,
            oidcSubject: subject,
            isStaff: env().staffEmails.includes(email),
            lastSignInAt: new Date(),
          },
        });
    const invitations = await tx.invitation.findMany({
      where: { email, acceptedAt: null, expiresAt: { gt: new Date() } },
    });
    for (const inv of invitations) {
      await tx.membership.upsert({
        where: { organizationId_userId: { organizationId: inv.organizationId, userId: u.id } },
        create: { organizationId: inv.organizationId, userId: u.id, role: inv.role },
        update: {},
      });
      await tx.invitation.update({ where: { id: inv.id }, data: { acceptedAt: new Date() } });
    }
    return u;
  });
  await recordAuditEvent({
    organizationId: null,
    actor: { type: "user", id: user.id, label: user.email },
    action: "auth.sign_in",
    outcome: "success",
    details: { method: "oidc" },
  });
  return user;
}
