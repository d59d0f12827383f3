// The production server stopped in the middle of a refresh batch, against a rotating authorization
// server whose answers leave 300 ms after it has rotated the token (SECURITY.md 41):
// - SIGTERM: nothing more is claimed, the refreshes in flight finish and commit, leases are released,
//   the process exits within the grace period: zero connections lost;
// - SIGKILL: only refreshes whose answer had not arrived when the process died may be lost (the
//   documented window); answers that had arrived are recovered from the refresh journal at the next
//   start, and everything else keeps working.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { SHUTDOWN_GRACE_MS } from "@/lib/server/drain-process";
import { ensureProductionBuild } from "../bench/api-server";
import { createRotatingAs, type RotatingAs } from "../fixtures/rotating-as";
import { cloneTemplate, dbKinds } from "../helpers/db";
import { startFaultServer, type FaultServer } from "../helpers/fault-server";
import { countLosses, seedRotatingConnections, type SeededConnection } from "../helpers/rotating-connections";
import { sleep, waitFor } from "../helpers/lifecycle";

const TIMEOUT = 240_000;
const COUNT = 120;
/** the server's per-host budget (CONSENTRY_REFRESH_HOST_CONCURRENCY's default): refreshes in flight at once */
const IN_FLIGHT = 4;

let buildError: string | null = null;
beforeAll(() => {
  buildError = ensureProductionBuild((s) => process.stderr.write(`${s}\n`));
}, 20 * 60_000);

for (const kind of dbKinds()) {
  describe(`a refresh batch interrupted by SIGTERM and SIGKILL [${kind}]`, { timeout: TIMEOUT }, () => {
    let as: RotatingAs;
    let fault: FaultServer;
    let db: Db;
    let dropDb: (() => Promise<void>) | undefined;
    let connections: SeededConnection[];

    beforeAll(async () => {
      if (buildError) return;
      as = await createRotatingAs({ expiresIn: 3600, answerDelayMs: 300 });
      let databaseUrl: string | undefined;
      if (kind === "postgresql") {
        const scratch = await cloneTemplate("postgresql");
        dropDb = scratch.drop;
        databaseUrl = scratch.url;
      }
      fault = await startFaultServer({ databaseUrl });
      db = createDb(fault.databaseUrl);
      ({ connections } = await seedRotatingConnections({ db, as, count: COUNT }));
    }, TIMEOUT);

    afterAll(async () => {
      await fault?.dispose();
      await db?.$disconnect();
      await dropDb?.();
      await as?.close();
    }, 60_000);

    const makeAllDue = () =>
      db.connection.updateMany({
        where: { id: { in: connections.map((c) => c.id) } },
        data: { nextRefreshAt: new Date(Date.now() - 1000) },
      });

    it("SIGTERM mid-batch: the refreshes in flight commit, nothing more is claimed, leases are released, exit within the grace period, zero lost", async (ctx) => {
      if (buildError) return ctx.skip();
      const cron = fault.cron();
      await waitFor(() => as.refreshes.length >= 10, { timeoutMs: 60_000, what: "the batch to be under way" });
      const sent = Date.now();
      fault.server.signal("SIGTERM");
      const exit = await fault.server.exited;
      const tookMs = Date.now() - sent;
      const answer = await cron;

      process.stderr.write(`[fault-shutdown ${kind}] SIGTERM: exited after ${tookMs} ms\n`);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(tookMs).toBeLessThan(SHUTDOWN_GRACE_MS + 3000);
      // the run in progress answered with what it did: every rotation the AS made was committed
      expect(answer.status).toBe(200);
      const rotated = as.refreshes.filter((r) => r.outcome === "rotated");
      expect(rotated.every((r) => r.answeredAt !== null)).toBe(true);
      expect(answer.body.refreshed).toBe(rotated.length);
      // it stopped claiming: the batch was not finished
      expect(rotated.length).toBeLessThan(COUNT);

      const losses = await countLosses(db, as, connections);
      expect(losses).toEqual({ lost: [], needsReconsent: [], revokedGrants: 0 });
      expect(as.reuseCount).toBe(0);
      expect(await db.connection.count({ where: { leaseOwner: { not: null } } })).toBe(0);
      expect(await db.tokenSet.count({ where: { version: 2 } })).toBe(rotated.length);
      // and after a restart, the rest of the batch is refreshed with the tokens that were committed
      await fault.restart();
      const rest = await fault.cron();
      expect(rest.body).toMatchObject({ refreshed: COUNT - rotated.length, failed: {} });
      expect(await countLosses(db, as, connections)).toEqual({ lost: [], needsReconsent: [], revokedGrants: 0 });
    });

    it("SIGKILL mid-batch: only refreshes whose answer had not arrived are lost (at most the refreshes in flight), the journal recovers the rest", async (ctx) => {
      if (buildError) return ctx.skip();
      await makeAllDue();
      const before = as.refreshes.length;
      void fault.cron().catch(() => undefined);
      await waitFor(() => as.refreshes.length >= before + 10, { timeoutMs: 60_000, what: "the batch to be under way" });
      const killedAt = Date.now();
      fault.server.signal("SIGKILL");
      await fault.server.exited;
      // the answers the AS still held back find no one to take them
      await sleep(as.answerDelayMs + 200);
      const batch = as.refreshes.slice(before);
      const rotated = batch.filter((r) => r.outcome === "rotated");
      // an answer "arrived" once it was written to the socket before the kill; allow the client a
      // moment to read it (whatever it had read and journaled is recovered, the rest counts as in flight)
      const inFlight = new Set(
        rotated.filter((r) => r.answeredAt === null || r.answeredAt > killedAt - 250).map((r) => r.grantId),
      );

      await fault.restart();
      const losses = await countLosses(db, as, connections);
      const lostGrants = new Set(losses.lost.map((id) => connections.find((c) => c.id === id)!.grantId));
      // the bound: nothing outside the refreshes in flight at the kill, and never more than the budget
      expect([...lostGrants].filter((g) => !inFlight.has(g))).toEqual([]);
      expect(losses.lost.length).toBeLessThanOrEqual(IN_FLIGHT);
      expect(as.reuseCount).toBe(0);
      // every other connection works: a new run refreshes them all; only the lost ones need consent again
      await makeAllDue();
      await db.connection.updateMany({
        where: { leaseOwner: { not: null } },
        data: { leaseUntil: new Date(Date.now() - 1000) },
      });
      const run = await fault.cron();
      expect(run.status).toBe(200);
      const after = await countLosses(db, as, connections);
      expect(new Set(after.needsReconsent)).toEqual(new Set(losses.lost));
      expect(after.revokedGrants).toBe(losses.lost.length);
      expect(after.lost.filter((id) => !losses.lost.includes(id))).toEqual([]);
      process.stderr.write(
        `[fault-shutdown ${kind}] SIGKILL: ${rotated.length} rotated in the batch, ${inFlight.size} in flight at the kill, ${losses.lost.length} lost\n`,
      );
      expect(fs.existsSync(fault.dataDir)).toBe(true);
    });
  });
}
