// The overview's chart data (lib/audit/health-series.ts) from seeded audit rows and connections, on
// SQLite and PostgreSQL: refreshes per UTC hour and day by outcome and failure class, connections by
// status replayed from status-changing events, refresh tokens lapsing within 30 days.
import crypto from "node:crypto";
import { expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { auditRow, type AuditInput } from "@/lib/audit/record-audit-event";
import { connectionStatusSeries, refreshSeries, refreshTokenLapses } from "@/lib/audit/health-series";
import { describeEachDb } from "../helpers/db";
import { seedConnection, seedOrg } from "../helpers/factories";

const NOW = new Date("2026-03-10T12:30:00Z");
const HOUR = 3600_000;
const DAY = 86400_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

async function event(
  db: Db,
  input: Omit<AuditInput, "actor" | "outcome"> & { outcome?: AuditInput["outcome"] },
  at: Date,
) {
  await db.auditEvent.create({
    data: { ...auditRow({ actor: { type: "system", label: "refresh" }, outcome: "success", ...input }), createdAt: at },
  });
}

describeEachDb("health series", (getDb) => {
  it("refreshes per hour (24) and per day (7): successes and failures by class, this organization only", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const other = await seedOrg(db);
    const target = { type: "connection", id: "c-1" };
    const refreshed = (at: Date, organizationId = org.id) =>
      event(db, { organizationId, action: "connection.refreshed", target }, at);
    const failed = (at: Date, failureClass: string) =>
      event(
        db,
        {
          organizationId: org.id,
          action: "connection.refresh_failed",
          outcome: "failure",
          target,
          details: { failureClass, errorCode: "x" },
        },
        at,
      );
    for (let i = 0; i < 3; i++) await refreshed(ago(HOUR)); // 11:30
    await failed(ago(HOUR + 60_000), "retryable"); // 11:29
    await failed(ago(5 * HOUR), "needs_reconsent"); // 07:30
    await refreshed(new Date("2026-03-10T12:00:00.000Z")); // the first instant of the current hour
    await refreshed(ago(30 * HOUR)); // 03-09 06:30: in the days, not the hours
    await refreshed(ago(30 * HOUR));
    await refreshed(ago(8 * DAY)); // before both windows
    await refreshed(ago(HOUR), other.id); // another organization
    await event(db, { organizationId: org.id, action: "api.getToken", target }, ago(HOUR)); // not a refresh

    const hours = await refreshSeries({ db, organizationId: org.id, unit: "hour", count: 24, now: NOW });
    expect(hours).toHaveLength(24);
    expect(hours[0]!.start.toISOString()).toBe("2026-03-09T13:00:00.000Z");
    expect(hours[23]!.start.toISOString()).toBe("2026-03-10T12:00:00.000Z");
    const byHour = Object.fromEntries(
      hours
        .filter((b) => b.success || Object.keys(b.failed).length)
        .map((b) => [b.start.toISOString().slice(11, 16), b]),
    );
    expect(byHour).toEqual({
      "07:00": expect.objectContaining({ success: 0, failed: { needs_reconsent: 1 } }),
      "11:00": expect.objectContaining({ success: 3, failed: { retryable: 1 } }),
      "12:00": expect.objectContaining({ success: 1, failed: {} }),
    });

    const days = await refreshSeries({ db, organizationId: org.id, unit: "day", count: 7, now: NOW });
    expect(days.map((d) => d.start.toISOString().slice(0, 10))).toEqual([
      "2026-03-04",
      "2026-03-05",
      "2026-03-06",
      "2026-03-07",
      "2026-03-08",
      "2026-03-09",
      "2026-03-10",
    ]);
    expect(days[5]).toMatchObject({ success: 2, failed: {} });
    expect(days[6]).toMatchObject({ success: 4, failed: { retryable: 1, needs_reconsent: 1 } });
    expect(days.slice(0, 5).every((d) => d.success === 0 && Object.keys(d.failed).length === 0)).toBe(true);
  });

  it("connections by status per day: today from the table, earlier days replayed from the audit", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const day = (n: number, h = 10) => new Date(Date.parse("2026-03-10T00:00:00Z") - n * DAY + h * HOUR);
    const conn = async (status: string, createdAt: Date) => {
      const c = await seedConnection(db, { organizationId: org.id, providerId: "generic-oauth2" });
      return db.connection.update({ where: { id: c.id }, data: { status, createdAt } });
    };
    const on = (id: string, action: string, at: Date, details: Record<string, unknown> = {}) =>
      event(db, { organizationId: org.id, action, target: { type: "connection", id }, details }, at);

    // always active: no events at all
    await conn("active", day(30));
    // created within the window (day -5), consented the day after
    const fresh = await conn("active", day(5));
    await on(fresh.id, "connection.created", day(5), { provider: "generic-oauth2" });
    await on(fresh.id, "consent.completed", day(4));
    // lost its grant on day -3
    const lost = await conn("needs_reconsent", day(30));
    await on(lost.id, "connection.refresh_failed", day(3), { failureClass: "needs_reconsent" });
    // disconnected on day -6, purged on day -2: only the audit knows it
    const purged = crypto.randomUUID();
    await on(purged, "connection.revoked", day(6));
    await on(purged, "connection.purged", day(2));
    // five temporary failures in a row on day -2 (error), recovered on day -1
    const flaky = await conn("active", day(30));
    for (let i = 0; i < 5; i++)
      await on(flaky.id, "connection.refresh_failed", day(2, 1 + i), { failureClass: "retryable" });
    await on(flaky.id, "connection.refreshed", day(1));
    // a temporary failure that did not last does not change the status
    const blip = await conn("active", day(30));
    await on(blip.id, "connection.refresh_failed", day(4), { failureClass: "retryable" });
    await on(blip.id, "connection.refreshed", day(4, 11));

    const points = await connectionStatusSeries({ db, organizationId: org.id, days: 14, now: NOW });
    expect(points).toHaveLength(14);
    expect(points[0]!.day.toISOString()).toBe("2026-02-25T00:00:00.000Z");
    expect(points[13]!.day.toISOString()).toBe("2026-03-10T00:00:00.000Z");
    const at = (n: number) => {
      const c = points[13 - n]!.counts;
      return Object.fromEntries(Object.entries(c).filter(([, v]) => v));
    };
    // before anything: 4 active (always, lost, flaky, blip) + the later purged one, still active
    expect(at(13)).toEqual({ active: 5 });
    expect(at(6)).toEqual({ active: 4, revoked: 1 });
    expect(at(5)).toEqual({ active: 4, pending_consent: 1, revoked: 1 });
    expect(at(4)).toEqual({ active: 5, revoked: 1 });
    expect(at(3)).toEqual({ active: 4, needs_reconsent: 1, revoked: 1 });
    expect(at(2)).toEqual({ active: 3, needs_reconsent: 1, error: 1 });
    expect(at(1)).toEqual({ active: 4, needs_reconsent: 1 });
    expect(at(0)).toEqual({ active: 4, needs_reconsent: 1 });
  });

  it("refresh tokens of working connections lapsing within 30 days, per week", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const conn = async (status: string, inDays: number | null) => {
      const c = await seedConnection(db, { organizationId: org.id });
      await db.connection.update({
        where: { id: c.id },
        data: { status, refreshTokenExpiresAt: inDays === null ? null : new Date(NOW.getTime() + inDays * DAY) },
      });
    };
    await conn("active", 2);
    await conn("error", 10);
    await conn("active", 29.5);
    await conn("active", 40); // later
    await conn("active", -1); // already lapsed
    await conn("revoked", 5); // no longer in use
    await conn("needs_reconsent", 6);
    await conn("active", null); // no known expiry
    const other = await seedOrg(db);
    const c = await seedConnection(db, { organizationId: other.id });
    await db.connection.update({ where: { id: c.id }, data: { refreshTokenExpiresAt: new Date(NOW.getTime() + DAY) } });

    const lapses = await refreshTokenLapses({ db, organizationId: org.id, days: 30, now: NOW });
    expect(lapses.total).toBe(3);
    expect(lapses.buckets.map((b) => b.count)).toEqual([1, 1, 0, 1]);
    expect(lapses.buckets.at(-1)!.to.getTime()).toBe(NOW.getTime() + 30 * DAY);
  });
});
