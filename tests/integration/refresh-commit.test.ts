// New tokens are committed or retried, never dropped (SECURITY.md 41), against a rotating
// authorization server (every refresh rotates; a rotated-out token revokes the grant):
// - PostgreSQL pool pressure right when the answer arrives: the commit waits for a connection
//   instead of failing (an interactive transaction failed after Prisma's 2 s maxWait, and the
//   connection was lost);
// - SQLite locked by another process right then (SQLITE_BUSY): the new set is held, served from
//   memory, nothing claims the connection, and it lands once the lock is gone;
// - a consent whose code has just been exchanged when the pool is exhausted: its write waits for the
//   pool instead of failing the consent.
import Database from "better-sqlite3";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { createDb, type Db } from "@/lib/db/client";
import { sqliteFilePath } from "@/lib/db/urls";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { heldCommit, whenCommitted } from "@/lib/tokens/pending-commits";
import { createRotatingAs, type RotatingAs } from "../fixtures/rotating-as";
import { callbackUrl } from "@/lib/consent/start-consent";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { connectGenericViaOp } from "../helpers/lifecycle";
import { describeEachDb } from "../helpers/db";
import { countLosses, seedRotatingConnections } from "../helpers/rotating-connections";
import { readConnection, waitFor } from "../helpers/lifecycle";

let as: RotatingAs;
let op: OidcServer;
beforeAll(async () => {
  as = await createRotatingAs({ expiresIn: 3600 });
  op = await createOidcServer({
    redirectUris: [callbackUrl("generic-oauth2")],
    ttl: { AccessToken: 3600, RefreshToken: 3600 },
  });
});
afterAll(async () => {
  await as?.close();
  await op?.close();
});
beforeEach(() => {
  as.answerDelayMs = 0;
  as.clearFaults();
});

describeEachDb("refresh commits under database faults (rotating AS)", (getDb) => {
  beforeAll(async () => {
    const t = getDb();
    // what bootstrap does for the embedded default: readers proceed while a writer holds the lock
    if (t.kind === "sqlite") await t.db.$queryRawUnsafe("PRAGMA journal_mode=WAL");
  });

  it("the database is busy exactly when the provider's answer arrives: the rotated tokens are committed, not lost", async () => {
    const t = getDb();
    const { organizationId, connections } = await seedRotatingConnections({ db: t.db, as, count: 1 });
    const [c] = connections as [{ id: string; grantId: string }];
    // the answer leaves the AS a second after it rotated the token; meanwhile the database gets busy
    as.answerDelayMs = 1000;
    const received = as.refreshes.length;
    const blockers: Array<Promise<unknown>> = [];
    let db: Db;
    let releaseLock = () => {};
    if (t.kind === "postgresql") {
      // a pool of two, both connections taken for 3.5 s (longer than Prisma's 2 s transaction maxWait)
      db = createDb(t.url, { poolSize: 2 });
      void waitFor(() => as.refreshes.length > received, { what: "the refresh to reach the AS" }).then(() => {
        for (let i = 0; i < 2; i++) blockers.push(db.$executeRawUnsafe("SELECT pg_sleep(3.5)").then((n) => n)); // (Prisma queries are lazy: start it now)
      });
    } else {
      // another process holds the write lock for longer than this client's busy timeout
      db = createDb(t.url, { busyTimeoutMs: 300 });
      void waitFor(() => as.refreshes.length > received, { what: "the refresh to reach the AS" }).then(() => {
        const other = new Database(sqliteFilePath(t.url));
        other.prepare("BEGIN EXCLUSIVE").run();
        releaseLock = () => {
          if (!other.open) return;
          other.prepare("COMMIT").run();
          other.close();
        };
      });
    }
    try {
      const outcome = await refreshConnection({ db, connectionId: c.id, reason: "on_demand" });
      expect(outcome.result).toBe("refreshed");
      expect(as.counters.refreshed).toBeGreaterThan(0);
      if (t.kind === "sqlite") {
        // SQLITE_BUSY: held in memory, the lease kept, and the newest token served from there
        expect(outcome).toEqual({ result: "refreshed", held: true });
        expect(heldCommit(c.id)).toBeDefined();
        const grant = as.grants.get(c.grantId)!;
        const served = await getFreshToken({ db: t.db, organizationId, connectionId: c.id, minValidity: 60 }).catch(
          (e: unknown) => e,
        );
        // (the test's own client reads through the lock: WAL readers are not blocked)
        expect(served).toMatchObject({ accessToken: grant.accessToken });
        expect(await refreshConnection({ db: t.db, connectionId: c.id, reason: "on_demand" })).toEqual({
          result: "busy",
        });
        expect((await readConnection(t.db, c.id)).leaseOwner).not.toBeNull();
        releaseLock();
        expect(await whenCommitted(c.id)).toBe("written");
      }
      await Promise.all(blockers);
      const losses = await countLosses(t.db, as, connections);
      expect(losses).toEqual({ lost: [], needsReconsent: [], revokedGrants: 0 });
      expect(as.reuseCount).toBe(0);
      const row = await readConnection(t.db, c.id);
      expect(row).toMatchObject({ status: "active", leaseOwner: null, leaseUntil: null, refreshAttempts: 0 });
      expect(row.tokenSet!.version).toBe(2);
      // the next refresh presents the rotated token and is accepted
      as.answerDelayMs = 0;
      expect(await refreshConnection({ db: t.db, connectionId: c.id, reason: "on_demand" })).toEqual({
        result: "refreshed",
      });
      expect(as.reuseCount).toBe(0);
      expect((await countLosses(t.db, as, connections)).lost).toEqual([]);
    } finally {
      releaseLock();
      await db.$disconnect();
    }
  });

  it("the pool is exhausted right after a consent's code was exchanged: the consent's write waits for it and the connection is active", async (ctx) => {
    const t = getDb();
    if (t.kind !== "postgresql") return ctx.skip(); // SQLite has no pool to exhaust
    const db = createDb(t.url, { poolSize: 2 });
    try {
      // the OP answers the code exchange a second after receiving it; meanwhile both pooled connections
      // are taken for 3.5 s (longer than Prisma's 2 s transaction maxWait)
      op.failNext({ transform: (b) => b, delayMs: 1000 });
      const exchanges = op.tokenRequests.length;
      const blockers: Array<Promise<unknown>> = [];
      void waitFor(() => op.tokenRequests.length > exchanges, { what: "the code exchange" }).then(() => {
        for (let i = 0; i < 2; i++) blockers.push(db.$executeRawUnsafe("SELECT pg_sleep(3.5)").then((n) => n));
      });
      const { connectionId } = await connectGenericViaOp(op, { db });
      await Promise.all(blockers);
      expect(blockers).toHaveLength(2);
      const row = await readConnection(t.db, connectionId);
      expect(row).toMatchObject({ status: "active", lastErrorCode: null });
      expect(row.tokenSet).not.toBeNull();
    } finally {
      await db.$disconnect();
    }
  });
});
