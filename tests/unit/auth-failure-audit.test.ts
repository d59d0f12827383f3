// The aggregate audit of failed API authentications (lib/audit/auth-failure-audit.ts) on its own:
// one row per database and client address per interval, written when the interval's timer fires or
// on an explicit flush, bounded in the number of addresses it holds (the rest still counted). The
// rows as the REST API stores them: tests/integration/api-auth-failures.test.ts.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Db } from "@/lib/db/client";
import type { AuditValues } from "@/lib/db/hot-queries";

const buffered = vi.hoisted(() => [] as Array<{ db: unknown; values: AuditValues }>);
const flushes = vi.hoisted(() => ({ count: 0 }));
vi.mock("@/lib/audit/audit-buffer", () => ({
  bufferAuditValues: (db: unknown, values: AuditValues) => void buffered.push({ db, values }),
  flushAuditBuffer: async () => void flushes.count++,
}));

import { MAX_AUTH_FAILURE_CLIENTS, flushAuthFailureAudit, noteAuthFailure } from "@/lib/audit/auth-failure-audit";

const dbA = { name: "a" } as unknown as Db;
const dbB = { name: "b" } as unknown as Db;
const T0 = Date.parse("2026-12-01T10:00:00.000Z");

/** The buffered rows by column name (details parsed). */
function rows() {
  return buffered.map(({ db, values }) => {
    const [organizationId, actorType, actorId, actorLabel, action, targetType, , outcome, ip, requestId, details] =
      values;
    const parsed = JSON.parse(details) as Record<string, unknown>;
    return {
      db,
      organizationId,
      actorType,
      actorId,
      actorLabel,
      action,
      targetType,
      outcome,
      ip,
      requestId,
      details: parsed,
    };
  });
}

afterEach(async () => {
  await flushAuthFailureAudit();
  buffered.length = 0;
  flushes.count = 0;
  vi.useRealTimers();
});

describe("noteAuthFailure and flushAuthFailureAudit", () => {
  it("write one row per database and address for the interval, with the counts and times and nothing else", async () => {
    for (let i = 0; i < 4; i++) noteAuthFailure({ db: dbA, client: "192.0.2.1", now: T0 + i * 1000, lockout: i === 3 });
    for (let i = 0; i < 7; i++) noteAuthFailure({ db: dbA, client: "192.0.2.1", refused: true, now: T0 + 10_000 + i });
    noteAuthFailure({ db: dbA, client: "2001:db8::/64", now: T0 + 20_000 });
    noteAuthFailure({ db: dbB, client: "192.0.2.1", now: T0 + 30_000 });
    expect(buffered).toHaveLength(0);
    await flushAuthFailureAudit();
    expect(flushes.count).toBe(1);
    const r = rows();
    expect(r).toHaveLength(3);
    const common = {
      organizationId: null,
      actorType: "anonymous",
      actorId: null,
      actorLabel: null,
      action: "api.auth_failed",
      targetType: null,
      outcome: "denied",
      requestId: null,
    };
    expect(r.find((x) => x.db === dbA && x.ip === "192.0.2.1")).toEqual({
      db: dbA,
      ...common,
      ip: "192.0.2.1",
      details: {
        count: 4,
        refused: 7,
        lockouts: 1,
        first_at: "2026-12-01T10:00:00.000Z",
        last_at: "2026-12-01T10:00:10.006Z",
      },
    });
    expect(r.find((x) => x.db === dbA && x.ip === "2001:db8::/64")?.details).toMatchObject({
      count: 1,
      refused: 0,
      lockouts: 0,
    });
    expect(r.find((x) => x.db === dbB)).toMatchObject({
      ip: "192.0.2.1",
      details: { count: 1, refused: 0, lockouts: 0 },
    });
  });

  it("start a new interval after each flush", async () => {
    noteAuthFailure({ db: dbA, client: "192.0.2.1", now: T0 });
    noteAuthFailure({ db: dbA, client: "192.0.2.1", now: T0 + 1 });
    await flushAuthFailureAudit();
    noteAuthFailure({ db: dbA, client: "192.0.2.1", now: T0 + 2 });
    await flushAuthFailureAudit();
    await flushAuthFailureAudit();
    expect(rows().map((x) => x.details.count)).toEqual([2, 1]);
  });

  it("are flushed by a timer one interval (60 s by default) after the first failure of the interval", async () => {
    vi.useFakeTimers();
    noteAuthFailure({ db: dbA, client: "192.0.2.1" });
    vi.advanceTimersByTime(30_000);
    noteAuthFailure({ db: dbA, client: "192.0.2.1" });
    vi.advanceTimersByTime(29_999);
    expect(buffered).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(rows()).toHaveLength(1);
    expect(rows()[0]!.details.count).toBe(2);
    expect(flushes.count).toBe(1);
    // nothing pending, no timer: an idle process does no work
    expect(vi.getTimerCount()).toBe(0);
  });

  it(`hold at most ${MAX_AUTH_FAILURE_CLIENTS} addresses an interval and count the failures of further ones in one row without an address`, async () => {
    for (let i = 0; i < MAX_AUTH_FAILURE_CLIENTS; i++)
      noteAuthFailure({ db: dbA, client: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now: T0 });
    // known addresses keep counting; new ones go to the unattributed row, on their own database
    noteAuthFailure({ db: dbA, client: "10.0.0.0", now: T0 + 1 });
    for (let i = 0; i < 5; i++) noteAuthFailure({ db: dbA, client: `198.51.100.${i}`, now: T0 + 2 + i });
    noteAuthFailure({ db: dbA, client: "198.51.100.200", refused: true, now: T0 + 9 });
    noteAuthFailure({ db: dbB, client: "198.51.100.201", now: T0 + 10 });
    await flushAuthFailureAudit();
    const r = rows();
    expect(r).toHaveLength(MAX_AUTH_FAILURE_CLIENTS + 2);
    expect(r.find((x) => x.ip === "10.0.0.0")!.details.count).toBe(2);
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    expect(r.filter((x) => x.ip === null).map((x) => ({ db: x.db, details: x.details }))).toEqual([
      { db: dbA, details: { count: 5, refused: 1, lockouts: 0, first_at: at(2), last_at: at(9), unattributed: true } },
      {
        db: dbB,
        details: { count: 1, refused: 0, lockouts: 0, first_at: at(10), last_at: at(10), unattributed: true },
      },
    ]);
    // the next interval has room again
    buffered.length = 0;
    noteAuthFailure({ db: dbA, client: "198.51.100.1", now: T0 + 60_000 });
    await flushAuthFailureAudit();
    expect(rows()).toEqual([expect.objectContaining({ ip: "198.51.100.1" })]);
  });
});
