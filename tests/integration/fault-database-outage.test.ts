// PostgreSQL goes away under load (SECURITY.md 41, 42). A private server of the test's own is stopped
// (`pg_ctl stop -m immediate`) for 20 s while jobs call the token endpoint, some asking for more life
// than the stored token has (an on-demand refresh each), and the background refresh runs every second
// against a rotating authorization server whose answers leave 300 ms after the rotation — so answers
// arrive while the database is gone. Then:
// - every answer during the outage is 503 with Retry-After, never a 500;
// - once the database is back, zero connections are lost (every stored refresh token is the one the
//   server would accept), zero refresh tokens were presented twice, zero audit rows were lost;
// - SIGKILL while refreshes are held for their commit: the journal commits them at the next start.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { createApiKey } from "@/lib/api-keys/create-api-key";
import { ensureProductionBuild, freePort } from "../bench/api-server";
import { createRotatingAs, type RotatingAs } from "../fixtures/rotating-as";
import { privatePgUnavailable, startPrivatePg, type PrivatePg } from "../helpers/private-pg";
import { startFaultServer, type FaultServer } from "../helpers/fault-server";
import { countLosses, seedRotatingConnections, type SeededConnection } from "../helpers/rotating-connections";
import { sleep, waitFor } from "../helpers/lifecycle";

const TIMEOUT = 300_000;
const COUNT = 60;
const OUTAGE_MS = 20_000;

type Call = { status: number; retryAfter: string | null; requestId: string | null; at: number; end: number };

const unavailable = privatePgUnavailable();
let buildError: string | null = null;

describe.skipIf(unavailable !== null)(
  "PostgreSQL stopped for 20 s under load (a private server)",
  { timeout: TIMEOUT },
  () => {
    let pg: PrivatePg;
    let as: RotatingAs;
    let fault: FaultServer;
    let db: Db;
    let key: string;
    let organizationId: string;
    let connections: SeededConnection[];

    beforeAll(async () => {
      buildError = ensureProductionBuild((s) => process.stderr.write(`${s}\n`));
      if (buildError) return;
      pg = await startPrivatePg(await freePort());
      await pg.createDatabase("consentry");
      // tokens that live 2 minutes, refreshed 10 minutes ahead: every background run refreshes them all again
      as = await createRotatingAs({ expiresIn: 120, answerDelayMs: 300 });
      fault = await startFaultServer({
        databaseUrl: pg.urlFor("consentry"),
        env: { CONSENTRY_REFRESH_INTERVAL_SECONDS: "1" },
      });
      db = createDb(fault.databaseUrl);
      ({ organizationId, connections } = await seedRotatingConnections({
        db,
        as,
        count: COUNT,
        dueInMs: 60_000,
        expiresInMs: 120_000,
      }));
      key = (
        await createApiKey({
          db,
          organizationId,
          input: { name: "outage job", scopes: ["tokens:read"] },
          actor: { type: "system", label: "test" },
        })
      ).key;
    }, TIMEOUT);

    afterAll(async () => {
      await fault?.dispose();
      await db?.$disconnect().catch(() => undefined);
      await as?.close();
      pg?.destroy();
    }, 60_000);

    /** Jobs calling POST …/token in a loop until stopped; half of them want more life than a token has. */
    function load(workers: number) {
      const calls: Call[] = [];
      let stopped = false;
      const run = async (w: number) => {
        for (let i = 0; !stopped; i++) {
          const c = connections[(w * 7 + i) % connections.length]!;
          const at = Date.now();
          try {
            const res = await fetch(`${fault.url}/api/v1/connections/${c.id}/token`, {
              method: "POST",
              headers: {
                authorization: `Bearer ${key}`,
                "content-type": "application/json",
                "x-request-id": `outage-${w}-${i}-${crypto.randomBytes(3).toString("hex")}`,
              },
              body: JSON.stringify({ min_validity: i % 2 === 0 ? 60 : 3600 }),
              signal: AbortSignal.timeout(30_000),
            });
            await res.arrayBuffer();
            calls.push({
              status: res.status,
              retryAfter: res.headers.get("retry-after"),
              requestId: res.headers.get("x-request-id"),
              at,
              end: Date.now(),
            });
          } catch (e) {
            calls.push({ status: -1, retryAfter: String((e as Error).message), requestId: null, at, end: Date.now() });
          }
          await sleep(20);
        }
      };
      const all = Promise.all(Array.from({ length: workers }, (_, w) => run(w)));
      return {
        calls,
        stop: async () => {
          stopped = true;
          await all;
        },
      };
    }

    it("503 + Retry-After during the outage, never 500; afterwards zero connections lost, zero tokens presented twice, zero audit rows lost", async (ctx) => {
      if (buildError) return ctx.skip();
      const jobs = load(8);
      await sleep(3000);
      await waitFor(() => as.refreshes.length > 0, { what: "refreshes under way" });
      const down = Date.now();
      pg.stop();
      const heldBack = as.refreshes.filter((r) => r.outcome === "rotated" && r.answeredAt === null).length;
      await sleep(OUTAGE_MS);
      pg.start();
      const up = Date.now();
      await sleep(8000);
      await jobs.stop();

      const calls = jobs.calls;
      const byStatus = calls.reduce<Record<number, number>>((m, c) => ((m[c.status] = (m[c.status] ?? 0) + 1), m), {});
      process.stderr.write(
        `[fault-database-outage] ${calls.length} calls ${JSON.stringify(byStatus)}; ${heldBack} answers in flight when the database stopped\n`,
      );
      // only 200 and 503, and every 503 says when to come back
      expect(
        Object.keys(byStatus)
          .map(Number)
          .filter((s) => s !== 200 && s !== 503),
      ).toEqual([]);
      expect(byStatus[503] ?? 0).toBeGreaterThan(0);
      for (const c of calls.filter((c) => c.status === 503)) {
        expect(Number(c.retryAfter)).toBeGreaterThan(0);
        // refused while the database was away (a call may have started just before and ended just after)
        expect(c.end).toBeGreaterThanOrEqual(down);
        expect(c.at).toBeLessThanOrEqual(up + 12_000);
      }
      expect(calls.filter((c) => c.at > up + 12_000).every((c) => c.status === 200)).toBe(true);

      // The background refresh keeps running (these tokens are always due): stop the server the way an
      // orchestrator does, so that what is in flight commits and what is buffered is written, then count.
      await fault.server.stop();
      expect(await fault.server.exited).toEqual({ code: 0, signal: null });
      const log = fault.server.output();
      const held = (log.match(/refreshed tokens could not be committed: held/g) ?? []).length;
      const landed = (log.match(/held refresh committed/g) ?? []).length;
      process.stderr.write(
        `[fault-database-outage] ${held} refreshes held during the outage, ${landed} committed once it was over\n`,
      );
      expect(held).toBeGreaterThan(0);
      expect(landed).toBe(held);

      // every stored refresh token is the one the AS would accept, none was presented twice
      expect(await countLosses(db, as, connections)).toEqual({ lost: [], needsReconsent: [], revokedGrants: 0 });
      expect(as.reuseCount).toBe(0);

      // every call is in the audit trail (the ones answered 503 too), and every rotation has its event
      const answered = calls.filter((c) => c.requestId !== null).length;
      const rotations = as.refreshes.filter((r) => r.outcome === "rotated").length;
      expect(await db.auditEvent.count({ where: { action: { startsWith: "api." } } })).toBe(answered);
      expect(await db.auditEvent.count({ where: { action: "connection.refreshed" } })).toBe(rotations);
      expect(log).not.toMatch(/audit rows dropped/);
    });

    it("SIGKILL while answers are held for their commit (the database is down): the journal commits them at the next start, zero lost", async (ctx) => {
      if (buildError) return ctx.skip();
      // every connection due now; answers leave the AS 2 s after it rotated
      await fault.restart({ CONSENTRY_REFRESH_INTERVAL_SECONDS: "0", CONSENTRY_REFRESH_HOST_CONCURRENCY: "8" });
      await db.connection.updateMany({ data: { nextRefreshAt: new Date(Date.now() - 1000) } });
      as.answerDelayMs = 2000;
      const before = as.refreshes.length;
      void fault.cron().catch(() => undefined);
      await waitFor(() => as.refreshes.length >= before + 8, { what: "eight refreshes in flight" });
      pg.stop();
      // the answers arrive, the commits fail, the tokens are journaled and held
      await waitFor(
        () =>
          as.refreshes
            .slice(before)
            .filter((r) => r.outcome === "rotated")
            .every((r) => r.answeredAt !== null),
        { timeoutMs: 10_000, what: "the answers to be delivered" },
      );
      const rotated = as.refreshes.slice(before).filter((r) => r.outcome === "rotated");
      expect(rotated.length).toBeGreaterThanOrEqual(8);
      const heldCount = () =>
        (fault.server.output().match(/refreshed tokens could not be committed: held/g) ?? []).length;
      await waitFor(() => heldCount() === rotated.length, { what: "every answer held for its commit" });
      fault.server.signal("SIGKILL");
      await fault.server.exited;
      // nothing of it reached the database
      pg.start();
      await db.$disconnect();
      const stale = await countLosses(db, as, connections);
      expect(stale.lost.length).toBe(rotated.length);

      as.answerDelayMs = 0;
      await fault.restart();
      expect(fault.server.output()).toMatch(new RegExp(`"replayed":${rotated.length}[,}]`));
      const after = await countLosses(db, as, connections);
      expect(after).toEqual({ lost: [], needsReconsent: [], revokedGrants: 0 });
      // and the tokens work: a full run refreshes every connection with them, nothing presented twice
      await db.connection.updateMany({
        data: { nextRefreshAt: new Date(Date.now() - 1000), leaseOwner: null, leaseUntil: null },
      });
      const run = await fault.cron();
      expect(run.body).toMatchObject({ refreshed: COUNT, failed: {} });
      expect(as.reuseCount).toBe(0);
      expect(await countLosses(db, as, connections)).toEqual({ lost: [], needsReconsent: [], revokedGrants: 0 });
    });
  },
);
