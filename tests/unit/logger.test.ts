import { describe, expect, it } from "vitest";
import { createLogger, currentRequestId, withRequestId } from "@/lib/logger";

/** A logger writing into an array: one JSON line per call. */
function memoryLogger() {
  const lines: string[] = [];
  const log = createLogger({ write: (s: string) => void lines.push(s) });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("logger", () => {
  it("redacts secret-bearing fields at the top level and nested", () => {
    const { log, lines, parsed } = memoryLogger();
    log.info({ access_token: "canary", nested: { client_secret: "canary", deeper: { refresh_token: "canary" } }, provider: "microsoft" }, "token exchanged");
    log.warn({ headers: { authorization: "Bearer canary", cookie: "session=canary" }, code: "canary", password: "canary" }, "callback");
    expect(lines).toHaveLength(2);
    expect(lines.join("")).not.toContain("canary");
    const [first, second] = parsed();
    expect(first).toMatchObject({ msg: "token exchanged", provider: "microsoft", access_token: "[redacted]", nested: { client_secret: "[redacted]", deeper: { refresh_token: "[redacted]" } } });
    expect(second).toMatchObject({ headers: { authorization: "[redacted]", cookie: "[redacted]" }, code: "[redacted]", password: "[redacted]" });
  });

  it("adds the request id inside withRequestId, across awaits, and not outside", async () => {
    const { log, parsed } = memoryLogger();
    log.info("before");
    await withRequestId("req-123", async () => {
      expect(currentRequestId()).toBe("req-123");
      log.info("inside");
      await new Promise((r) => setTimeout(r, 1));
      log.info("after await");
    });
    log.info("after");
    expect(parsed().map((l) => [l.msg, l.requestId])).toEqual([
      ["before", undefined],
      ["inside", "req-123"],
      ["after await", "req-123"],
      ["after", undefined],
    ]);
  });

  it("replaces a missing or unsafe request id with a random one", () => {
    const { log, parsed } = memoryLogger();
    withRequestId("bad id\nwith newline", () => log.info("unsafe"));
    withRequestId(null, () => log.info("missing"));
    const ids = parsed().map((l) => l.requestId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});
