import { expect, it } from "vitest";
import { keyIdOf } from "@/lib/crypto/aead";
import { countStaleSecrets, reencryptAll } from "@/lib/crypto/reencrypt-all";
import { SECRET_FIELDS } from "@/lib/crypto/secret-fields";
import type { Db } from "@/lib/db/client";
import { describeEachDb } from "../helpers/db";
import { openSecret, seedAllSecrets, seedOAuthApp, seedOrg, canary } from "../helpers/factories";
import { K1, K2, installKeyring } from "../helpers/keyring";

type Row = Record<string, unknown> & { id: string; organizationId: string | null };

/** Every non-null secret column in the database: "Table.field@rowId" → the stored value and its row. */
async function storedSecrets(db: Db) {
  const out = new Map<
    string,
    { table: (typeof SECRET_FIELDS)[number]["table"]; field: string; row: Row; value: string }
  >();
  for (const spec of SECRET_FIELDS) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const rows: Row[] = await (db as any)[spec.model].findMany();
    for (const row of rows)
      for (const field of spec.fields) {
        const value = row[field];
        if (typeof value === "string")
          out.set(`${spec.table}.${field}@${row.id}`, { table: spec.table, field, row, value });
      }
  }
  return out;
}

describeEachDb("reencryptAll", (getDb) => {
  it("moves every encrypted value to the new primary key, and values still decrypt", async () => {
    const { db } = getDb();
    installKeyring(K1);
    const orgA = await seedOrg(db);
    const orgB = await seedOrg(db);
    const a = await seedAllSecrets(db, orgA.id, "a");
    const b = await seedAllSecrets(db, orgB.id, "b");
    const platform = await seedOAuthApp(db, { organizationId: null, clientSecret: canary("platform-secret") });
    const plain = new Map([
      ...a.plain,
      ...b.plain,
      [`OAuthApp.clientSecretEnc@${platform.id}`, openSecret("OAuthApp", platform, "clientSecretEnc")],
    ]);

    const before = await storedSecrets(db);
    expect([...before.keys()].sort()).toEqual([...plain.keys()].sort());
    expect([...before.values()].every((s) => keyIdOf(s.value) === "k1")).toBe(true);
    expect(await countStaleSecrets({ db })).toBe(0);

    installKeyring(K2, K1);
    expect(await countStaleSecrets({ db })).toBe(plain.size);

    // a small batch size walks several pages of every table
    const report = await reencryptAll({ db, batchSize: 1 });
    expect(report).toEqual({
      rewritten: plain.size,
      alreadyCurrent: 0,
      byTable: { OAuthApp: 5, TokenSet: 6, ConsentRequest: 2 },
    });
    expect(await countStaleSecrets({ db })).toBe(0);

    // with k1 retired, every value is under k2, decrypts to what was stored, and is a new ciphertext
    installKeyring(K2);
    const after = await storedSecrets(db);
    expect([...after.keys()].sort()).toEqual([...plain.keys()].sort());
    for (const [key, s] of after) {
      expect(keyIdOf(s.value), key).toBe("k2");
      expect(s.value).not.toBe(before.get(key)!.value);
      expect(openSecret(s.table, s.row, s.field), key).toBe(plain.get(key));
    }

    // idempotent: a second run rewrites nothing
    expect(await reencryptAll({ db })).toEqual({ rewritten: 0, alreadyCurrent: plain.size, byTable: {} });
  });
});
