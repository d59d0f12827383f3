// One provider that hangs cannot stall the refresh of connections at another (SECURITY.md 43).
// 94 connections at a token endpoint that never answers are due before 488 at a healthy one; one
// scheduler run must refresh every healthy connection in the time a run of those alone takes (measured
// first, in the same test), end about one scheduled deadline after it started (not one deadline per
// hung connection), and leave the hung host's other connections due for the next run, their tokens
// untouched.
import { afterEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { refreshDue } from "@/lib/tokens/refresh-due";
import { SCHEDULED_DEADLINE_MS } from "@/lib/tokens/refresh-connection";
import { env } from "@/lib/env";
import { faults } from "../fixtures/http-emulator";
import { createRotatingAs, type RotatingAs } from "../fixtures/rotating-as";
import { describeEachDb } from "../helpers/db";
import { countLosses, seedRotatingConnections } from "../helpers/rotating-connections";

const HUNG = 94;
const HEALTHY = 488;

// two authorization servers per engine: each run counts from zero
const servers: RotatingAs[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describeEachDb("a provider that hangs", (getDb) => {
  it(`${HUNG} connections at a hanging host due first, ${HEALTHY} at a healthy one: all healthy ones refreshed while the hung calls wait; the run ends after one deadline`, async () => {
    const { db } = getDb();
    const hung = await createRotatingAs();
    const healthy = await createRotatingAs();
    const alone = await createRotatingAs();
    servers.push(hung, healthy, alone);

    // the normal time of such a run: the same number of connections at a healthy host, nothing else due
    const baseline = await seedRotatingConnections({ db, as: alone, count: HEALTHY, dueInMs: -1000 });
    const baselineStarted = Date.now();
    expect(await refreshDue({ db })).toMatchObject({ refreshed: HEALTHY, failed: {} });
    const normal = Math.max(...alone.refreshes.map((r) => r.answeredAt ?? Infinity)) - baselineStarted;
    expect((await countLosses(db, alone, baseline.connections)).lost).toEqual([]);

    hung.failNext(faults.hang(), 10_000);
    const stuck = await seedRotatingConnections({ db, as: hung, count: HUNG, dueInMs: -60_000 });
    const fine = await seedRotatingConnections({
      db,
      as: healthy,
      count: HEALTHY,
      organizationId: stuck.organizationId,
      dueInMs: -1000,
    });

    const started = Date.now();
    const summary = await refreshDue({ db });
    const took = Date.now() - started;
    const lastHealthy = Math.max(...healthy.refreshes.map((r) => r.answeredAt ?? Infinity));
    const hostBudget = env().refreshHostConcurrency;
    process.stderr.write(
      `[fault-hung-host ${getDb().kind}] normal run ${normal} ms; with the hung host: last healthy refresh after ${lastHealthy - started} ms, run ${took} ms, ${JSON.stringify(summary)}\n`,
    );

    // every healthy connection refreshed, in the time a run takes without the hung host (with room for
    // a busy machine: a stall would cost one 8 s deadline per hung call the healthy ones waited behind)
    expect(healthy.counters.refreshed).toBe(HEALTHY);
    expect(lastHealthy - started).toBeLessThan(normal * 1.5 + 1000);
    expect((await countLosses(db, healthy, fine.connections)).lost).toEqual([]);
    // the hung host held only its own budget of calls, each gave up at the scheduled deadline, and the
    // rest of its connections were left for the next run instead of waiting one deadline each
    expect(hung.counters.tokenCalls).toBe(hostBudget);
    expect(summary).toMatchObject({
      due: HUNG + HEALTHY,
      refreshed: HEALTHY,
      failed: { retryable: hostBudget },
      deferred: HUNG - hostBudget,
    });
    expect(took).toBeGreaterThanOrEqual(SCHEDULED_DEADLINE_MS - 500);
    expect(took).toBeLessThan(Math.max(normal, SCHEDULED_DEADLINE_MS) + 2000);
    // nothing at the hung host was lost or changed: the stored tokens are still the ones it issued
    expect((await countLosses(db, hung, stuck.connections)).lost).toEqual([]);
    const due = await db.connection.count({
      where: { id: { in: stuck.connections.map((c) => c.id) }, nextRefreshAt: { lte: new Date() }, leaseOwner: null },
    });
    expect(due).toBe(HUNG - hostBudget);
  }, 120_000);
});
