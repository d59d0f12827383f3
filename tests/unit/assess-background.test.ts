// The verdict /api/health, the staff banner and the alerts share: overdue beyond the threshold, a
// scheduler that stopped (or never started), and a long refresh interval that is not an alarm by itself.
import { describe, expect, it } from "vitest";
import { assessBackground } from "@/lib/background/assess-background";
import type { TBackgroundStatus } from "@/lib/background/read-background-status";

const AT = new Date("2026-12-05T12:00:00Z");
const ago = (s: number) => new Date(AT.getTime() - s * 1000);
const quiet = (over: Partial<TBackgroundStatus> = {}): TBackgroundStatus => ({
  at: AT,
  scheduler: { lastRunAt: ago(30), lastRun: { due: 0, refreshed: 0 } },
  refresh: { due: 0, oldestDueAt: null },
  webhooks: { pending: 0, due: 0, oldestDueAt: null },
  ...over,
});
const opts = { thresholdSeconds: 600, refreshIntervalSeconds: 60, uptimeSeconds: 3600 };

describe("assessBackground", () => {
  it("is ok when nothing waits longer than the threshold, and reports counts and ages", () => {
    const a = assessBackground(
      quiet({
        refresh: { due: 3, oldestDueAt: ago(600) },
        webhooks: { pending: 5, due: 2, oldestDueAt: ago(10) },
      }),
      opts,
    );
    expect(a).toEqual({
      status: "ok",
      reasons: [],
      scheduler: { lastRunAt: ago(30).toISOString(), lastRunAgeSeconds: 30, lastRun: { due: 0, refreshed: 0 } },
      refresh: { due: 3, oldestOverdueSeconds: 600 },
      webhooks: { pending: 5, due: 2, oldestDueSeconds: 10 },
      thresholdSeconds: 600,
    });
  });

  it("is degraded, with each reason, once work has waited beyond the threshold", () => {
    expect(assessBackground(quiet({ refresh: { due: 1, oldestDueAt: ago(601) } }), opts)).toMatchObject({
      status: "degraded",
      reasons: ["refresh_overdue"],
    });
    expect(assessBackground(quiet({ webhooks: { pending: 1, due: 1, oldestDueAt: ago(601) } }), opts)).toMatchObject({
      status: "degraded",
      reasons: ["webhooks_overdue"],
    });
    const stopped = quiet({
      scheduler: { lastRunAt: ago(601), lastRun: null },
      refresh: { due: 9, oldestDueAt: ago(3600) },
      webhooks: { pending: 1, due: 1, oldestDueAt: ago(700) },
    });
    expect(assessBackground(stopped, opts).reasons).toEqual([
      "scheduler_not_running",
      "refresh_overdue",
      "webhooks_overdue",
    ]);
  });

  it("gives a scheduler three of its intervals when they are longer than the threshold", () => {
    const slow = { ...opts, refreshIntervalSeconds: 900 };
    expect(assessBackground(quiet({ scheduler: { lastRunAt: ago(2000), lastRun: null } }), slow).status).toBe("ok");
    expect(assessBackground(quiet({ scheduler: { lastRunAt: ago(2701), lastRun: null } }), slow).reasons).toEqual([
      "scheduler_not_running",
    ]);
  });

  it("does not call a scheduler that never ran late until this process has been up for the threshold", () => {
    const never = quiet({ scheduler: { lastRunAt: null, lastRun: null } });
    expect(assessBackground(never, { ...opts, uptimeSeconds: 30 }).status).toBe("ok");
    expect(assessBackground(never, { ...opts, uptimeSeconds: 601 })).toMatchObject({
      status: "degraded",
      reasons: ["scheduler_not_running"],
      scheduler: { lastRunAt: null, lastRunAgeSeconds: null },
    });
  });
});
