// Two production-server instances on one PostgreSQL, the experiment that used to lose connections
// (SECURITY.md 41): 500 connections at a rotating authorization server (every refresh rotates, a
// rotated-out token revokes the grant), the cron route called on both instances at once while jobs
// ask both for tokens with more life than the stored ones have (an on-demand refresh each), over
// several rounds, with the default pool of 10. Zero connections lost, zero refresh tokens presented
// twice, zero 5xx answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { createApiKey } from "@/lib/api-keys/create-api-key";
import { ensureProductionBuild } from "../bench/api-server";
import { createRotatingAs, type RotatingAs } from "../fixtures/rotating-as";
import { cloneTemplate, dbKinds } from "../helpers/db";
import { startFaultServer, type FaultServer } from "../helpers/fault-server";
import { countLosses, seedRotatingConnections, type SeededConnection } from "../helpers/rotating-connections";

const TIMEOUT = 600_000;
const COUNT = 500;
const ROUNDS = 3;
/** concurrent token calls per instance */
const JOBS = 16;

describe.skipIf(!dbKinds().includes("postgresql"))(
  "two instances on one PostgreSQL, cron on both plus on-demand refreshes",
  { timeout: TIMEOUT },
  () => {
    let buildError: string | null = null;
    let as: RotatingAs;
    let a: FaultServer;
    let b: FaultServer;
    let db: Db;
    let dropDb: () => Promise<void>;
    let key: string;
    let connections: SeededConnection[];

    beforeAll(async () => {
      buildError = ensureProductionBuild((s) => process.stderr.write(`${s}\n`));
      if (buildError) return;
      // tokens that live 5 minutes, refreshed 10 minutes ahead: every run refreshes every connection again
      as = await createRotatingAs({ expiresIn: 300, answerDelayMs: 20 });
      const scratch = await cloneTemplate("postgresql");
      dropDb = scratch.drop;
      db = createDb(scratch.url);
      let organizationId: string;
      ({ organizationId, connections } = await seedRotatingConnections({ db, as, count: COUNT, expiresInMs: 300_000 }));
      key = (
        await createApiKey({
          db,
          organizationId,
          input: { name: "two instances", scopes: ["tokens:read"] },
          actor: { type: "system", label: "test" },
        })
      ).key;
      [a, b] = await Promise.all([
        startFaultServer({ databaseUrl: scratch.url }),
        startFaultServer({ databaseUrl: scratch.url }),
      ]);
    }, TIMEOUT);

    afterAll(async () => {
      await Promise.all([a?.dispose(), b?.dispose()]);
      await db?.$disconnect();
      await dropDb?.();
      await as?.close();
    }, 60_000);

    it(`${COUNT} connections, ${ROUNDS} rounds: zero lost, zero presented twice, zero 5xx`, async (ctx) => {
      if (buildError) return ctx.skip();
      const statuses: Record<number, number> = {};
      const fivexx: string[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const before = as.counters.refreshed;
        let cronDone = false;
        const crons = Promise.all([a.cron(), b.cron()]).finally(() => (cronDone = true));
        const job = async (server: FaultServer, w: number) => {
          for (let i = 0; !cronDone; i++) {
            const c = connections[(w * 31 + i * 7 + round) % COUNT]!;
            const res = await fetch(`${server.url}/api/v1/connections/${c.id}/token`, {
              method: "POST",
              headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
              body: JSON.stringify({ min_validity: 600 }),
            });
            const text = await res.text();
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            if (res.status >= 500) fivexx.push(`${res.status} ${text.slice(0, 300)}`);
          }
        };
        await Promise.all([
          ...Array.from({ length: JOBS }, (_, w) => job(a, w)),
          ...Array.from({ length: JOBS }, (_, w) => job(b, JOBS + w)),
        ]);
        const [ra, rb] = await crons;
        expect(ra.status).toBe(200);
        expect(rb.status).toBe(200);
        process.stderr.write(
          `[fault-two-instances] round ${round}: ${as.counters.refreshed - before} refreshes (cron A ${ra.body.refreshed}, cron B ${rb.body.refreshed}), token answers so far ${JSON.stringify(statuses)}\n`,
        );
        // nothing of this round may be lost before the next one starts
        expect(as.reuseCount).toBe(0);
      }
      // stopped as an orchestrator stops them: whatever is in flight commits
      await Promise.all([a.server.stop(), b.server.stop()]);

      const losses = await countLosses(db, as, connections);
      process.stderr.write(
        `[fault-two-instances] ${as.counters.refreshed} refreshes in all, ${losses.lost.length} lost, ${as.reuseCount} presented twice, ${fivexx.length} 5xx\n`,
      );
      expect(fivexx).toEqual([]);
      expect(Object.keys(statuses).map(Number)).toEqual([200]);
      expect(losses).toEqual({ lost: [], needsReconsent: [], revokedGrants: 0 });
      expect(as.reuseCount).toBe(0);
      // every connection was refreshed in every round
      expect(as.counters.refreshed).toBeGreaterThanOrEqual(COUNT * ROUNDS);
      expect(await db.connection.count({ where: { leaseOwner: { not: null } } })).toBe(0);
    });
  },
);
