// People's accounts: a password someone else chose signs in once and must be replaced by the person's
// own (added by an admin, or set by the CLI); changing one's password (the current one, the new one
// twice; only the new one works afterwards; audited); changing a member's role (admins and owners,
// owners only for owners, an organization always keeps an owner, never across organizations).
import { beforeAll, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { checkPasswordSignIn } from "@/lib/auth/check-password-sign-in";
import { addMember } from "@/lib/users/add-member";
import { changePassword } from "@/lib/users/change-password";
import { changeMemberRole } from "@/lib/users/change-member-role";
import { removeMember } from "@/lib/users/remove-member";
import { describeEachDb } from "../helpers/db";
import { seedMembership, seedOrg, seedUser, uniq } from "../helpers/factories";

const actorOf = (u: { id: string; email: string }) => ({ type: "user" as const, id: u.id, label: u.email });

describeEachDb("accounts", (getDb) => {
  let admin: { id: string; email: string };
  beforeAll(async () => {
    admin = await seedUser(getDb().db, { email: `admin-${uniq()}@example.test` });
  });

  it("a person added with a one-time password signs in once with it, must choose their own, and then only theirs works", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const email = `new-${uniq()}@example.test`;
    const added = await addMember({
      db,
      organizationId: org.id,
      input: { email, role: "member" },
      actor: actorOf(admin),
      localLogin: true,
    });
    expect(added.password).toMatch(/^[A-Za-z0-9-]{20,}$/);
    const user = await db.user.findUniqueOrThrow({ where: { email } });
    expect(user.mustChangePassword).toBe(true);

    // the one-time password signs in, and says the person must choose their own
    expect(await checkPasswordSignIn({ db, email, password: added.password! })).toMatchObject({
      id: user.id,
      mustChangePassword: true,
    });
    expect(await checkPasswordSignIn({ db, email, password: "not the password" })).toBeNull();

    const own = `my own password ${uniq()}`;
    // refused: the current (given) password wrong, the two new ones differ, too short, unchanged
    for (const [input, path] of [
      [{ currentPassword: "wrong wrong wrong", newPassword: own, confirmPassword: own }, "currentPassword"],
      [{ currentPassword: added.password, newPassword: own, confirmPassword: `${own}!` }, "confirmPassword"],
      [{ currentPassword: added.password, newPassword: "short", confirmPassword: "short" }, "newPassword"],
      [
        { currentPassword: added.password, newPassword: added.password, confirmPassword: added.password },
        "newPassword",
      ],
    ] as const) {
      await expect(changePassword({ db, userId: user.id, input, actor: actorOf(user) })).rejects.toMatchObject({
        code: "validation",
        errors: expect.arrayContaining([expect.objectContaining({ path })]),
      });
    }
    expect(await db.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({
      mustChangePassword: true,
      passwordHash: user.passwordHash,
    });

    expect(
      await changePassword({
        db,
        userId: user.id,
        input: { currentPassword: added.password, newPassword: own, confirmPassword: own },
        actor: actorOf(user),
      }),
    ).toEqual({ wasRequired: true });
    const after = await db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.mustChangePassword).toBe(false);
    expect(after.passwordHash).not.toContain(own);
    // the given password no longer works; the person's own does, with nothing more to do
    expect(await checkPasswordSignIn({ db, email, password: added.password! })).toBeNull();
    expect(await checkPasswordSignIn({ db, email, password: own })).toMatchObject({ mustChangePassword: false });

    const audit = await db.auditEvent.findMany({
      where: { actorId: user.id, action: { in: ["auth.sign_in", "user.password_changed"] } },
      orderBy: { createdAt: "asc" },
      select: { action: true, outcome: true, details: true },
    });
    expect(audit.map((a) => `${a.action}:${a.outcome}`)).toEqual([
      "auth.sign_in:success",
      "auth.sign_in:failure",
      "user.password_changed:failure",
      "user.password_changed:success",
      "auth.sign_in:failure",
      "auth.sign_in:success",
    ]);
    expect(JSON.parse(audit[0]!.details)).toEqual({ method: "password", firstSignIn: true });
    expect(JSON.parse(audit[3]!.details)).toEqual({ required: true });
    // no password, given or chosen, is ever stored in the audit log
    const all = JSON.stringify(await db.auditEvent.findMany({ where: { actorId: user.id } }));
    expect(all).not.toContain(own);
    expect(all).not.toContain(added.password!);
  });

  it("changing one's password: the current one is needed, the change is audited, OpenID Connect accounts have none", async () => {
    const { db } = getDb();
    const first = `first password ${uniq()}`;
    const user = await seedUser(db, { passwordHash: await hashPassword(first) });
    const second = `second password ${uniq()}`;
    expect(
      await changePassword({
        db,
        userId: user.id,
        input: { currentPassword: first, newPassword: second, confirmPassword: second },
        actor: actorOf(user),
      }),
    ).toEqual({ wasRequired: false });
    const row = await db.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(await verifyPassword(second, row.passwordHash)).toBe(true);
    expect(await verifyPassword(first, row.passwordHash)).toBe(false);
    // the old one is no longer the current one
    await expect(
      changePassword({
        db,
        userId: user.id,
        input: { currentPassword: first, newPassword: `third ${uniq()} x`, confirmPassword: `third x` },
        actor: actorOf(user),
      }),
    ).rejects.toMatchObject({ code: "validation" });

    const oidc = await seedUser(db, { passwordHash: null });
    await expect(
      changePassword({
        db,
        userId: oidc.id,
        input: { currentPassword: "x", newPassword: "a long new password", confirmPassword: "a long new password" },
        actor: actorOf(oidc),
      }),
    ).rejects.toMatchObject({ code: "conflict" });
  });

  it("admins change members' and admins' roles; only owners touch owners; the last owner stays; audited", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const owner = await seedUser(db);
    const adminUser = await seedUser(db);
    const member = await seedUser(db);
    const ownerM = await seedMembership(db, { organizationId: org.id, userId: owner.id, role: "owner" });
    await seedMembership(db, { organizationId: org.id, userId: adminUser.id, role: "admin" });
    const memberM = await seedMembership(db, { organizationId: org.id, userId: member.id, role: "member" });
    const change = (membershipId: string, role: string, actingRole: "member" | "admin" | "owner", by = adminUser) =>
      changeMemberRole({ db, organizationId: org.id, membershipId, role, actingRole, actor: actorOf(by) });

    await expect(change(memberM.id, "admin", "admin")).resolves.toMatchObject({ role: "admin", changed: true });
    await expect(change(memberM.id, "member", "admin")).resolves.toMatchObject({ role: "member", changed: true });
    // a member cannot; an admin cannot make or unmake an owner
    await expect(change(memberM.id, "admin", "member")).rejects.toMatchObject({ code: "forbidden" });
    await expect(change(memberM.id, "owner", "admin")).rejects.toMatchObject({ code: "forbidden" });
    await expect(change(ownerM.id, "member", "admin")).rejects.toMatchObject({ code: "forbidden" });
    await expect(change(memberM.id, "superuser", "owner")).rejects.toMatchObject({ code: "validation" });
    // the last owner cannot step down, not even by their own hand
    await expect(change(ownerM.id, "admin", "owner", owner)).rejects.toMatchObject({ code: "conflict" });
    // with a second owner, they can
    await expect(change(memberM.id, "owner", "owner", owner)).resolves.toMatchObject({ role: "owner" });
    await expect(change(ownerM.id, "admin", "owner", owner)).resolves.toMatchObject({ role: "admin" });
    expect(await db.membership.count({ where: { organizationId: org.id, role: "owner" } })).toBe(1);

    const events = await db.auditEvent.findMany({
      where: { organizationId: org.id, action: "member.role_changed" },
      orderBy: { createdAt: "asc" },
      select: { details: true, targetId: true },
    });
    expect(events.map((e) => JSON.parse(e.details) as { from: string; to: string })).toEqual([
      expect.objectContaining({ from: "member", to: "admin", email: member.email }),
      expect.objectContaining({ from: "admin", to: "member" }),
      expect.objectContaining({ from: "member", to: "owner" }),
      expect.objectContaining({ from: "owner", to: "admin", email: owner.email }),
    ]);
  });

  it("two owners stepping down at the same time: one of them stays owner", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const a = await seedUser(db);
    const b = await seedUser(db);
    const am = await seedMembership(db, { organizationId: org.id, userId: a.id, role: "owner" });
    const bm = await seedMembership(db, { organizationId: org.id, userId: b.id, role: "owner" });
    const results = await Promise.allSettled([
      changeMemberRole({
        db,
        organizationId: org.id,
        membershipId: am.id,
        role: "admin",
        actingRole: "owner",
        actor: actorOf(a),
      }),
      changeMemberRole({
        db,
        organizationId: org.id,
        membershipId: bm.id,
        role: "admin",
        actingRole: "owner",
        actor: actorOf(b),
      }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await db.membership.count({ where: { organizationId: org.id, role: "owner" } })).toBe(1);
    // and removing the remaining owner is refused as well
    const left = await db.membership.findFirstOrThrow({ where: { organizationId: org.id, role: "owner" } });
    await expect(
      removeMember({ db, organizationId: org.id, membershipId: left.id, actingRole: "owner", actor: actorOf(a) }),
    ).rejects.toMatchObject({ code: "conflict" });
  });

  it("cross-organization: an admin of A cannot change (or tell apart) a member of B", async () => {
    const { db } = getDb();
    const A = await seedOrg(db);
    const B = await seedOrg(db);
    const adminOfA = await seedUser(db);
    await seedMembership(db, { organizationId: A.id, userId: adminOfA.id, role: "owner" });
    const inB = await seedUser(db);
    const inBM = await seedMembership(db, { organizationId: B.id, userId: inB.id, role: "member" });
    for (const membershipId of [inBM.id, "no-such-membership"])
      await expect(
        changeMemberRole({
          db,
          organizationId: A.id,
          membershipId,
          role: "admin",
          actingRole: "owner",
          actor: actorOf(adminOfA),
        }),
      ).rejects.toMatchObject({ code: "not-found" });
    expect(await db.membership.findUniqueOrThrow({ where: { id: inBM.id } })).toMatchObject({ role: "member" });
    expect(await db.auditEvent.count({ where: { organizationId: B.id } })).toBe(0);
  });
});
