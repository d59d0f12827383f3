// refreshDue claims page after page of due connections (more than fit in one query's parameters on
// SQLite: 999), visits each exactly once per run even when a connection is still due afterwards, and
// never touches rows another scheduler has leased.
import crypto from "node:crypto";
import { expect, it } from "vitest";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { claimDueRows } from "@/lib/tokens/refresh-batch";
import { LEASE_MS } from "@/lib/tokens/lease";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";

const N = 1050; // even: half held by another scheduler

describeEachDb("refreshDue paging", (getDb) => {
  it(`${N} due connections, half of them leased by another scheduler: one run claims each of the others once (no parameter-limit error) and leaves them due`, async () => {
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
    // Another scheduler holds the leases of the first half (claimed in one statement, as refreshDue does).
    const held = await claimDueRows({ db, owner: "other-scheduler", now: new Date(), ttlMs: LEASE_MS, limit: N / 2 });
    expect(held).toHaveLength(N / 2);

    // The rest have no tokens: each is claimed, skipped, released, and still due afterwards, so only the
    // run's own bookkeeping keeps it from claiming them again page after page.
    const s = await refreshDue({ db, batchSize: 200, concurrency: 8 });
    expect(s).toMatchObject({ due: N / 2, claimed: N / 2, skipped: N / 2, busy: 0, refreshed: 0, failed: {} });
    const heldIds = held.map((r) => r.id);
    expect(
      await db.connection.count({
        where: { organizationId: org.id, nextRefreshAt: { lte: new Date() }, leaseUntil: null, id: { notIn: heldIds } },
      }),
    ).toBe(N / 2);
    // the other scheduler's leases are untouched
    expect(await db.connection.count({ where: { organizationId: org.id, leaseOwner: "other-scheduler" } })).toBe(N / 2);
  });
});
