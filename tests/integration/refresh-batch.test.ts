// The scheduler's batched statements (lib/tokens/refresh-batch.ts) keep the single-row guarantees on
// both databases: a page is claimed for one owner only, a batch writes each row only if its token set
// still has the version the refresh read (a row replaced meanwhile is left as it is), writes the new
// state together with the tokens, and releases every row's lease, written or not.
import { afterAll, beforeAll, expect, it } from "vitest";
import { claimDueRows, commitRefreshBatch } from "@/lib/tokens/refresh-batch";
import { sealRefreshTokens, type RefreshCommit } from "@/lib/tokens/commit-refresh";
import { openToken } from "@/lib/tokens/token-secrets";
import { LEASE_MS } from "@/lib/tokens/lease";
import { createRotatingAs, type RotatingAs } from "../fixtures/rotating-as";
import { describeEachDb } from "../helpers/db";
import { seedRotatingConnections } from "../helpers/rotating-connections";
import { readConnection } from "../helpers/lifecycle";

let as: RotatingAs;
beforeAll(async () => {
  as = await createRotatingAs();
});
afterAll(async () => {
  await as?.close();
});

describeEachDb("batched refresh statements", (getDb) => {
  it("claim a page, then commit it with one row replaced meanwhile: the others written with their state, that one untouched, every lease released", async () => {
    const { db } = getDb();
    const { organizationId, connections } = await seedRotatingConnections({ db, as, count: 4 });
    const ids = connections.map((c) => c.id);
    const owner = "batch-test";
    const claimed = await claimDueRows({ db, owner, now: new Date(), ttlMs: LEASE_MS, limit: 10 });
    expect(claimed.map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const r of claimed) {
      expect(r).toMatchObject({ organizationId, providerId: "generic-oauth2", status: "active" });
      expect(r.tokenSet).toMatchObject({ version: 1 });
      expect(r.leaseUntil.getTime()).toBeGreaterThan(Date.now() + LEASE_MS / 2);
    }
    // claimed: a second claim (another worker) gets none of them
    expect(await claimDueRows({ db, owner: "other", now: new Date(), ttlMs: LEASE_MS, limit: 10 })).toEqual([]);

    // a re-consent replaces the last one's tokens while its refresh is under way
    const replaced = ids[3]!;
    await db.tokenSet.update({ where: { connectionId: replaced }, data: { version: { increment: 1 } } });
    const before = await readConnection(db, replaced);

    const at = new Date();
    const next = new Date(at.getTime() + 50 * 60_000);
    const commits: RefreshCommit[] = claimed.map((r) => ({
      organizationId,
      connectionId: r.id,
      readVersion: 1,
      owner,
      tokens: sealRefreshTokens(
        { organizationId, connectionId: r.id },
        {
          accessToken: `at-new-${r.id}`,
          refreshToken: `rt-new-${r.id}`,
          idToken: null,
          tokenType: "Bearer",
          expiresAt: new Date(at.getTime() + 3600_000),
          refreshTokenExpiresAt: null,
          scopes: ["read", "write"],
          metadata: {},
        },
      ),
      state: {
        expiresAt: new Date(at.getTime() + 3600_000).toISOString(),
        refreshTokenExpiresAt: null,
        lastRefreshedAt: at.toISOString(),
        nextRefreshAt: next.toISOString(),
        scopes: "read write",
        clearExpiryWarning: false,
      },
    }));
    const results = await commitRefreshBatch({ db, commits });
    expect(Object.fromEntries(results)).toEqual(
      Object.fromEntries(ids.map((id) => [id, id === replaced ? "superseded" : "written"])),
    );

    for (const id of ids) {
      const row = await readConnection(db, id);
      expect(row).toMatchObject({ leaseOwner: null, leaseUntil: null });
      const owner = { organizationId, connectionId: id };
      const access = openToken(owner, "accessTokenEnc", row.tokenSet!.accessTokenEnc);
      if (id === replaced) {
        expect(row.tokenSet!.version).toBe(before.tokenSet!.version);
        expect(access).toBe(openToken(owner, "accessTokenEnc", before.tokenSet!.accessTokenEnc));
        expect(row.scopes).toBe(before.scopes);
        expect(row.nextRefreshAt!.getTime()).toBe(before.nextRefreshAt!.getTime());
      } else {
        expect(row.tokenSet!.version).toBe(2);
        expect(access).toBe(`at-new-${id}`);
        expect(openToken(owner, "refreshTokenEnc", row.tokenSet!.refreshTokenEnc!)).toBe(`rt-new-${id}`);
        expect(row).toMatchObject({ status: "active", scopes: "read write", refreshAttempts: 0, lastErrorCode: null });
        // the dates as Prisma reads them back: the batch wrote them in the database's own format
        expect(row.nextRefreshAt!.getTime()).toBe(next.getTime());
        expect(row.lastRefreshedAt!.getTime()).toBe(at.getTime());
      }
    }
    // written rows are no longer due; the replaced one still is, and can be claimed again
    const again = await claimDueRows({ db, owner: "other", now: new Date(), ttlMs: LEASE_MS, limit: 10 });
    expect(again.map((r) => r.id)).toEqual([replaced]);
  });
});
