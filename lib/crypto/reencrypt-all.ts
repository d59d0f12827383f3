// Re-encrypts every secret column under the newest key. Idempotent and resumable: rows already
// under the primary key are skipped, each row is updated only if it has not changed meanwhile.
import type { Db } from "@/lib/db/client";
import { decryptSecret, encryptSecret, keyIdOf } from "@/lib/crypto/aead";
import { keyring } from "@/lib/crypto/keyring";
import { SECRET_FIELDS, contextFor } from "@/lib/crypto/secret-fields";

export type ReencryptReport = { rewritten: number; alreadyCurrent: number; byTable: Record<string, number> };

export async function reencryptAll({ db, batchSize = 200 }: { db: Db; batchSize?: number }): Promise<ReencryptReport> {
  const { primary } = keyring();
  const report: ReencryptReport = { rewritten: 0, alreadyCurrent: 0, byTable: {} };
  for (const spec of SECRET_FIELDS) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const delegate = (db as any)[spec.model];
    let cursor: string | undefined;
    for (;;) {
      const rows: Array<Record<string, unknown> & { id: string; organizationId: string | null }> =
        await delegate.findMany({
          take: batchSize,
          ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
          orderBy: { id: "asc" },
        });
      if (rows.length === 0) break;
      cursor = rows[rows.length - 1]!.id;
      for (const row of rows) {
        const data: Record<string, string> = {};
        const where: Record<string, unknown> = { id: row.id };
        for (const field of spec.fields) {
          const value = row[field];
          if (typeof value !== "string") continue;
          if (keyIdOf(value) === primary) {
            report.alreadyCurrent++;
            continue;
          }
          const ctx = contextFor(spec.table, row, field);
          data[field] = encryptSecret(decryptSecret(value, ctx), ctx);
          where[field] = value;
        }
        if (Object.keys(data).length === 0) continue;
        const { count } = await delegate.updateMany({ where, data });
        if (count === 1) {
          report.rewritten += Object.keys(data).length;
          report.byTable[spec.table] = (report.byTable[spec.table] ?? 0) + Object.keys(data).length;
        }
      }
    }
  }
  return report;
}

/** How many secret values are still under a key other than the primary (an alert after rotation). */
export async function countStaleSecrets({ db }: { db: Db }): Promise<number> {
  const { primary } = keyring();
  let stale = 0;
  for (const spec of SECRET_FIELDS) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const delegate = (db as any)[spec.model];
    for (const field of spec.fields) {
      stale += await delegate.count({
        where: {
          AND: [{ [field]: { startsWith: "enc1." } }, { NOT: { [field]: { startsWith: `enc1.${primary}.` } } }],
        },
      });
    }
  }
  return stale;
}
