// After storing secrets through every path that takes them, no table holds a plaintext copy.
import { expect, it } from "vitest";
import { recordAuditEvent } from "@/lib/audit/record-audit-event";
import { createOrganization } from "@/lib/organizations/create-organization";
import { addMember } from "@/lib/users/add-member";
import { describeEachDb, dumpAllRows, sqliteRawBytes } from "../helpers/db";
import { canary, seedAllSecrets, seedConnection, uniq } from "../helpers/factories";
import { K1, installKeyring } from "../helpers/keyring";

const actor = { type: "system", label: "test" } as const;

describeEachDb("secrets at rest", (getDb) => {
  it("no plaintext secret appears in any row of any table", async () => {
    const t = getDb();
    const { db } = t;
    installKeyring(K1);
    const org = await createOrganization({ db, input: { name: "Leak check", slug: `leak-${uniq()}` }, actor });
    const { plain } = await seedAllSecrets(db, org.id, "leak");
    const added = await addMember({
      db,
      organizationId: org.id,
      input: { email: `new-${uniq()}@example.test`, role: "member" },
      actor,
      localLogin: true,
    });
    const auditSecret = canary("audit");
    await recordAuditEvent(
      {
        organizationId: org.id,
        actor,
        action: "connection.token_exchanged",
        outcome: "success",
        details: { client_secret: auditSecret, response: { access_token: auditSecret, refresh_token: auditSecret } },
      },
      db,
    );
    // positive control: a plaintext we do expect to find, proving the scan sees stored data
    const marker = `visible-marker-${uniq()}`;
    await seedConnection(db, { organizationId: org.id, name: marker });

    const secrets = [...plain.values(), added.password!, auditSecret];
    expect(added.password).toBeTruthy();
    expect(secrets.length).toBe(8);

    const dump = await dumpAllRows(t);
    expect(dump.tables.length).toBeGreaterThanOrEqual(10);
    expect(dump.rowCount).toBeGreaterThanOrEqual(8);
    expect(dump.text).toContain(marker);
    for (const s of secrets) expect(dump.text, `plaintext found in a row: ${s}`).not.toContain(s);

    if (t.kind === "sqlite") {
      const raw = sqliteRawBytes(t.url);
      expect(raw.includes(marker)).toBe(true);
      for (const s of secrets) expect(raw.includes(s), `plaintext found in the SQLite file: ${s}`).toBe(false);
    }
  });
});
