import { describe, expect, it } from "vitest";
import { timeOrderedId } from "@/lib/audit/audit-buffer";

describe("timeOrderedId (UUIDv7 for audit rows)", () => {
  it("is a version-7, RFC 9562-variant UUID carrying the millisecond timestamp", () => {
    const at = new Date("2026-12-02T16:00:00.123Z");
    const id = timeOrderedId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at.getTime());
  });

  it("sorts in creation order as text (what the primary-key index sees)", () => {
    const times = [
      0,
      1,
      255,
      256,
      65_536,
      Date.parse("2001-01-01"),
      Date.parse("2026-12-02T16:00:00Z"),
      Date.parse("2026-12-02T16:00:00.001Z"),
    ];
    const ids = times.map((t) => timeOrderedId(new Date(t)));
    expect([...ids].sort()).toEqual(ids);
  });

  it("differs for rows created in the same millisecond, and sorts in the order they were made", () => {
    const at = new Date();
    const made = Array.from({ length: 1000 }, () => timeOrderedId(at));
    expect(new Set(made).size).toBe(1000);
    expect([...made].sort()).toEqual(made);
  });

  it("takes the time as epoch milliseconds as well as a Date", () => {
    const ms = Date.parse("2026-12-03T09:00:00.042Z");
    expect(parseInt(timeOrderedId(ms).slice(0, 8) + timeOrderedId(ms).slice(9, 13), 16)).toBe(ms);
  });
});
