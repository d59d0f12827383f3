import { beforeAll, expect, it } from "vitest";
import { verifyPassword } from "@/lib/auth/password";
import { AppError } from "@/lib/errors";
import { addMember } from "@/lib/users/add-member";
import { describeEachDb } from "../helpers/db";
import { seedOrg, seedUser, uniq } from "../helpers/factories";

describeEachDb("addMember", (getDb) => {
  let org: { id: string };
  let inviter: { id: string };
  const actor = () => ({ type: "user" as const, id: inviter.id, label: "inviter" });

  beforeAll(async () => {
    org = await seedOrg(getDb().db);
    inviter = await seedUser(getDb().db);
  });

  it("adds an existing user as a member at once (e-mail matched case-insensitively)", async () => {
    const { db } = getDb();
    const user = await seedUser(db, { email: `existing-${uniq()}@example.test` });
    const result = await addMember({
      db,
      organizationId: org.id,
      input: { email: user.email.toUpperCase(), role: "admin" },
      actor: actor(),
      localLogin: false,
    });
    expect(result).toEqual({ kind: "member", email: user.email, role: "admin", password: undefined });
    expect(
      await db.membership.findUnique({ where: { organizationId_userId: { organizationId: org.id, userId: user.id } } }),
    ).toMatchObject({ role: "admin" });
    expect(await db.invitation.count({ where: { organizationId: org.id, email: user.email } })).toBe(0);
    expect(
      await db.auditEvent.count({ where: { organizationId: org.id, action: "member.added" } }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("invites someone without an account when local sign-in is off", async () => {
    const { db } = getDb();
    const email = `invitee-${uniq()}@example.test`;
    const result = await addMember({
      db,
      organizationId: org.id,
      input: { email, role: "member" },
      actor: actor(),
      localLogin: false,
    });
    expect(result).toEqual({ kind: "invited", email, role: "member", password: undefined });
    const invitation = await db.invitation.findUnique({
      where: { organizationId_email: { organizationId: org.id, email } },
    });
    expect(invitation).toMatchObject({ role: "member", invitedByUserId: inviter.id, acceptedAt: null });
    const days = (invitation!.expiresAt.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(13.9);
    expect(days).toBeLessThanOrEqual(14);
    expect(await db.user.count({ where: { email } })).toBe(0);

    // inviting again updates the invitation instead of failing or duplicating it
    await addMember({ db, organizationId: org.id, input: { email, role: "admin" }, actor: actor(), localLogin: false });
    expect(await db.invitation.findMany({ where: { organizationId: org.id, email }, select: { role: true } })).toEqual([
      { role: "admin" },
    ]);
  });

  it("creates an account with a one-time password when local sign-in is on", async () => {
    const { db } = getDb();
    const email = `local-${uniq()}@example.test`;
    const result = await addMember({
      db,
      organizationId: org.id,
      input: { email, role: "member" },
      actor: actor(),
      localLogin: true,
    });
    expect(result.kind).toBe("member");
    expect(result.password).toMatch(/^[\w]{5}(-[\w]{5}){3}$/);
    const user = await db.user.findUniqueOrThrow({ where: { email }, include: { memberships: true } });
    expect(user.memberships).toEqual([expect.objectContaining({ organizationId: org.id, role: "member" })]);
    expect(user.passwordHash).not.toContain(result.password!);
    expect(await verifyPassword(result.password!, user.passwordHash)).toBe(true);
  });

  it("refuses to add someone twice, and rejects invalid input", async () => {
    const { db } = getDb();
    const user = await seedUser(db);
    await addMember({
      db,
      organizationId: org.id,
      input: { email: user.email, role: "member" },
      actor: actor(),
      localLogin: false,
    });
    const dup = await addMember({
      db,
      organizationId: org.id,
      input: { email: user.email, role: "owner" },
      actor: actor(),
      localLogin: false,
    }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(AppError);
    expect((dup as AppError).code).toBe("conflict");
    expect(
      await db.membership.findMany({ where: { organizationId: org.id, userId: user.id }, select: { role: true } }),
    ).toEqual([{ role: "member" }]);

    for (const input of [
      { email: "not-an-email", role: "member" },
      { email: user.email, role: "superuser" },
    ]) {
      const err = await addMember({ db, organizationId: org.id, input, actor: actor(), localLogin: false }).catch(
        (e: unknown) => e,
      );
      expect((err as AppError).code).toBe("validation");
    }
  });
});
