import { expect, it } from "vitest";
import { AppError } from "@/lib/errors";
import { createOrganization } from "@/lib/organizations/create-organization";
import { describeEachDb } from "../helpers/db";
import { seedUser, uniq } from "../helpers/factories";

const actor = { type: "system", label: "test" } as const;

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describeEachDb("createOrganization", (getDb) => {
  it("creates the organization, makes the owner a member, and audits it", async () => {
    const { db } = getDb();
    const owner = await seedUser(db);
    const slug = `acme-${uniq()}`;
    const org = await createOrganization({
      db,
      input: { name: "  Acme  ", slug: ` ${slug.toUpperCase()} ` },
      ownerUserId: owner.id,
      actor,
    });
    expect(org).toMatchObject({ name: "Acme", slug });
    expect(
      await db.membership.findMany({ where: { organizationId: org.id }, select: { userId: true, role: true } }),
    ).toEqual([{ userId: owner.id, role: "owner" }]);
    expect(await db.auditEvent.count({ where: { organizationId: org.id, action: "organization.created" } })).toBe(1);
  });

  it("rejects a duplicate slug with a conflict, and creates nothing", async () => {
    const { db } = getDb();
    const slug = `dup-${uniq()}`;
    await createOrganization({ db, input: { name: "First", slug }, actor });
    const before = await db.organization.count();
    const err = await rejection(createOrganization({ db, input: { name: "Second", slug: slug.toUpperCase() }, actor }));
    expect(err.code).toBe("conflict");
    expect(err.status).toBe(409);
    expect(err.errors?.map((e) => e.path)).toEqual(["slug"]);
    expect(await db.organization.count()).toBe(before);
  });

  it("answers a conflict, not an internal error, when requests race for one slug", async () => {
    const { db } = getDb();
    // several rounds on a warm pool: on PostgreSQL both check-then-insert transactions can pass the check
    for (let round = 0; round < 5; round++) {
      const slug = `race-${uniq()}`;
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map((i) => createOrganization({ db, input: { name: `Race ${i}`, slug }, actor })),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results)
        if (r.status === "rejected")
          expect({ name: r.reason?.name, code: r.reason?.code }).toEqual({ name: "AppError", code: "conflict" });
      expect(await db.organization.count({ where: { slug } })).toBe(1);
    }
  });

  it.each([
    ["a reserved slug", { name: "Admin", slug: "admin" }, "slug"],
    ["a slug with a leading hyphen", { name: "X", slug: "-x" }, "slug"],
    ["an empty name", { name: " ", slug: "fine-slug" }, "name"],
  ])("rejects %s as a validation error", async (_label, input, path) => {
    const { db } = getDb();
    const err = await rejection(createOrganization({ db, input, actor }));
    expect(err.code).toBe("validation");
    expect(err.errors?.map((e) => e.path)).toContain(path);
  });
});
