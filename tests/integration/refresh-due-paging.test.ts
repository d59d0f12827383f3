// refreshDue pages through more due connections than fit in one query's parameters (SQLite: 999),
// and visits each exactly once per run even when a connection is still due afterwards.
import crypto from "node:crypto";
import { expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";

const N = 1050;

describeEachDb("refreshDue paging", (getDb) => {
  it(`${N} due connections whose leases another scheduler holds: one run lists each once (no parameter-limit error), all left due`, async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const past = Date.now() - 60_000;
    const ids = Array.from({ length: N }, () => crypto.randomUUID());
    for (let i = 0; i < N; i += 500) {
      await db.connection.createMany({
        data: ids.slice(i, i + 500).map((id, k) => ({
          id,
          organizationId: org.id,
          providerId: "generic-oauth2",
          name: `c${i + k}`,
          status: "active",
          nextRefreshAt: new Date(past + ((i + k) % 7) * 1000),
        })),
      });
    }
    // Every lease claim loses (another scheduler got there first, between listing and claiming), so
    // every row stays due and unleased: only the run's own bookkeeping keeps it from listing them again.
    const claims = new Map<string, number>();
    const outrun = db.$extends({
      query: {
        connection: {
          async updateMany({ args, query }) {
            const id = (args.where as { id?: unknown } | undefined)?.id;
            if ((args.data as Record<string, unknown> | undefined)?.leaseOwner && typeof id === "string") {
              claims.set(id, (claims.get(id) ?? 0) + 1);
              return { count: 0 };
            }
            return query(args);
          },
        },
      },
    }) as unknown as Db;

    const s = await refreshDue({ db: outrun, batchSize: 200, concurrency: 8 });
    expect(s).toMatchObject({ due: N, busy: N, claimed: 0, refreshed: 0, failed: {} });
    expect(claims.size).toBe(N);
    expect([...claims.values()].every((n) => n === 1)).toBe(true);
    expect(
      await db.connection.count({
        where: { organizationId: org.id, nextRefreshAt: { lte: new Date() }, leaseUntil: null },
      }),
    ).toBe(N);
  });
});
