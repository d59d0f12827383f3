// Tenant isolation at the data layer: organization access is resolved from memberships only.
import { beforeAll, expect, it } from "vitest";
import { resolveOrgAccess } from "@/lib/auth/resolve-org-access";
import { describeEachDb } from "../helpers/db";
import { seedMembership, seedOrg, seedUser } from "../helpers/factories";

describeEachDb("resolveOrgAccess", (getDb) => {
  let orgA: { id: string; slug: string };
  let orgB: { id: string; slug: string };
  let memberOfA: { id: string };
  let adminOfB: { id: string };
  let staff: { id: string };
  let staffOwnerOfA: { id: string };

  beforeAll(async () => {
    const { db } = getDb();
    orgA = await seedOrg(db);
    orgB = await seedOrg(db);
    memberOfA = await seedUser(db);
    adminOfB = await seedUser(db);
    staff = await seedUser(db, { isStaff: true });
    staffOwnerOfA = await seedUser(db, { isStaff: true });
    await seedMembership(db, { organizationId: orgA.id, userId: memberOfA.id, role: "member" });
    await seedMembership(db, { organizationId: orgB.id, userId: adminOfB.id, role: "admin" });
    await seedMembership(db, { organizationId: orgA.id, userId: staffOwnerOfA.id, role: "owner" });
  });

  const access = (userId: string, isStaff: boolean, slug: string) =>
    resolveOrgAccess({ db: getDb().db, userId, isStaff, slug });

  it("gives a member their own role in their organization", async () => {
    expect(await access(memberOfA.id, false, orgA.slug)).toEqual({
      org: { id: orgA.id, slug: orgA.slug, name: expect.any(String) },
      role: "member",
    });
    expect((await access(adminOfB.id, false, orgB.slug))?.role).toBe("admin");
  });

  it("returns null for a member of A asking for B, and B's admin asking for A", async () => {
    expect(await access(memberOfA.id, false, orgB.slug)).toBeNull();
    expect(await access(adminOfB.id, false, orgA.slug)).toBeNull();
  });

  it("does not trust a user id that merely exists, or an unknown organization", async () => {
    expect(await access("no-such-user", false, orgA.slug)).toBeNull();
    expect(await access(memberOfA.id, false, "no-such-org")).toBeNull();
    expect(await access(staff.id, true, "no-such-org")).toBeNull();
  });

  it("gives platform staff admin in any organization, and their membership role where they have one", async () => {
    expect((await access(staff.id, true, orgA.slug))?.role).toBe("admin");
    expect((await access(staff.id, true, orgB.slug))?.org.id).toBe(orgB.id);
    expect((await access(staffOwnerOfA.id, true, orgA.slug))?.role).toBe("owner");
    // the staff flag is the caller's assertion: without it, a staff account is an outsider
    expect(await access(staff.id, false, orgA.slug)).toBeNull();
  });
});
