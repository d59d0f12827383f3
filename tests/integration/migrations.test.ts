import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { applyMigrations, expectedMigrations, migrationStatus } from "@/lib/db/migrations";
import { createEmptyDatabase, dbKinds, describeEachDb, listTables } from "../helpers/db";
import { REPO_ROOT, TMP_ROOT } from "../helpers/paths";

for (const kind of dbKinds()) {
  describe(`migrations from an empty database [${kind}]`, () => {
    let scratch: Awaited<ReturnType<typeof createEmptyDatabase>>;
    let db: Db;
    beforeAll(async () => {
      scratch = await createEmptyDatabase(kind);
      db = createDb(scratch.url);
    });
    afterAll(async () => {
      await db?.$disconnect();
      await scratch?.drop();
    });

    it("is reported pending, applies, and is then current", async () => {
      const expected = expectedMigrations(kind, REPO_ROOT);
      expect(await migrationStatus({ db, dbKind: kind })).toEqual({ current: false, pending: expected, applied: 0 });

      await applyMigrations({ databaseUrl: scratch.url, dataDir: TMP_ROOT, root: REPO_ROOT });

      expect(await migrationStatus({ db, dbKind: kind })).toEqual({
        current: true,
        pending: [],
        applied: expected.length,
      });
      const org = await db.organization.create({ data: { slug: "after-migrate", name: "After migrate" } });
      expect(await db.organization.findUnique({ where: { slug: "after-migrate" } })).toMatchObject({ id: org.id });
    }, 90_000);
  });
}

describeEachDb("template copy", (getDb) => {
  it("is current and holds every model's table, empty", async () => {
    const t = getDb();
    expect((await migrationStatus({ db: t.db, dbKind: t.kind })).current).toBe(true);
    const tables = await listTables(t);
    for (const model of [
      "Organization",
      "User",
      "Membership",
      "Invitation",
      "OAuthApp",
      "Connection",
      "TokenSet",
      "ConsentRequest",
      "ApiKey",
      "AuditEvent",
    ]) {
      expect(tables).toContain(model);
    }
    expect(await t.db.organization.count()).toBe(0);
  });
});
