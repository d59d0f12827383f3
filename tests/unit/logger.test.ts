import { describe, expect, it } from "vitest";
import { createLogger, requestIdFrom } from "@/lib/logger";

/** A logger writing into an array: one JSON line per call. */
function memoryLogger() {
  const lines: string[] = [];
  const log = createLogger({ write: (s: string) => void lines.push(s) });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("logger", () => {
  it("redacts secret-bearing fields at the top level and nested", () => {
    const { log, lines, parsed } = memoryLogger();
    log.info(
      {
        access_token: "canary",
        nested: { client_secret: "canary", deeper: { refresh_token: "canary" } },
        provider: "microsoft",
      },
      "token exchanged",
    );
    log.warn(
      { headers: { authorization: "Bearer canary", cookie: "session=canary" }, code: "canary", password: "canary" },
      "callback",
    );
    expect(lines).toHaveLength(2);
    expect(lines.join("")).not.toContain("canary");
    const [first, second] = parsed();
    expect(first).toMatchObject({
      msg: "token exchanged",
      provider: "microsoft",
      access_token: "[redacted]",
      nested: { client_secret: "[redacted]", deeper: { refresh_token: "[redacted]" } },
    });
    expect(second).toMatchObject({
      headers: { authorization: "[redacted]", cookie: "[redacted]" },
      code: "[redacted]",
      password: "[redacted]",
    });
  });

  it("keeps a safe caller request id and replaces a missing or unsafe one with a distinct random id", () => {
    expect(requestIdFrom("job-42.run_7")).toBe("job-42.run_7");
    expect(requestIdFrom("a".repeat(128))).toBe("a".repeat(128));
    const replaced = [
      requestIdFrom("a".repeat(129)),
      requestIdFrom("bad id\nwith newline"),
      requestIdFrom(null),
      requestIdFrom(undefined),
      requestIdFrom(""),
    ];
    for (const id of replaced)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(replaced).size).toBe(replaced.length);
  });
});

describe("logger: error text", () => {
  it("cuts token- and JWT-shaped runs out of a logged error's message and stack, Error or plain object", () => {
    const { log, lines } = memoryLogger();
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl";
    log.error(
      { err: { message: `provider said refresh_token=Q1xg7Kd0aZmP3vRt8sWq2NcYbE5uHiJo`, kind: "x" } },
      "refresh failed",
    );
    log.error({ err: new Error(`bad assertion ${jwt}`) }, "token request failed");
    log.error(new Error(`bare ${jwt}`));
    const text = lines.join("");
    expect(text).not.toContain("Q1xg7Kd0aZ");
    expect(text).not.toContain("eyJhbGci");
    const [first, second, third] = lines.map(
      (l) => JSON.parse(l) as { err: { message: string; stack?: string; type?: string } },
    );
    expect(first!.err).toEqual({ message: "provider said [redacted]", kind: "x" });
    expect(second!.err).toMatchObject({ type: "Error", message: "bad assertion [redacted]" });
    expect(second!.err.stack).toContain("bad assertion [redacted]");
    expect(third!.err.message).toBe("bare [redacted]");
  });
});

describe("auth logger", () => {
  it("a refused sign-in is one JSON info line without a stack; other Auth.js errors are JSON errors with token shapes cut out", async () => {
    const { CredentialsSignin } = await import("@auth/core/errors"); // what next-auth throws (re-exported there)
    const { authLogger } = await import("@/lib/auth/auth-logger");
    const { log, parsed } = memoryLogger();
    const auth = authLogger(log);
    auth.error(new CredentialsSignin());
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    auth.error(Object.assign(new Error(`state mismatch for ${jwt}`), { type: "InvalidCheck" }));
    auth.warn("debug-enabled");
    const [refused, failed, warned] = parsed();
    expect(refused).toMatchObject({ level: "info", authError: "CredentialsSignin", msg: "sign-in refused" });
    expect(JSON.stringify(refused)).not.toMatch(/stack|at .*\.js/);
    expect(failed).toMatchObject({ level: "error", authError: "InvalidCheck", msg: "auth error" });
    expect(JSON.stringify(failed)).not.toContain(jwt);
    expect(warned).toMatchObject({ level: "warn", authWarning: "debug-enabled" });
  });
});
