// The failed-authentication limit on its own (lib/api-keys/auth-failure-limit.ts): which address a
// failure counts against, the lockout after N failures with its Retry-After, and an unreachable
// store that must not take the API down. The REST API's use of it: tests/integration/api-auth-failures.test.ts.
import { afterEach, describe, expect, it, vi } from "vitest";
import { RateLimiterMemory, type RateLimiterAbstract } from "rate-limiter-flexible";
import {
  authFailureClient,
  authLockout,
  countAuthFailure,
  setAuthFailureStore,
} from "@/lib/api-keys/auth-failure-limit";
import { AppError } from "@/lib/errors";
import { createLogger } from "@/lib/logger";

afterEach(() => {
  setAuthFailureStore(null);
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("authFailureClient", () => {
  it.each([
    ["198.51.100.7", "198.51.100.7"],
    // Node reports IPv4 peers of a dual-stack socket as IPv4-mapped IPv6
    ["::ffff:198.51.100.7", "198.51.100.7"],
    ["::FFFF:198.51.100.7", "198.51.100.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::a", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002:ffff::1", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8::/64"],
    ["2001:db8:0:0:1::", "2001:db8::/64"],
    // RFC 5952: only the longest run of zero groups becomes "::"
    ["2001:0:0:1::5", "2001:0:0:1::/64"],
    ["::", "::/64"],
    ["fe80::1%eth0", "fe80::/64"],
    ["64:ff9b::192.0.2.1", "64:ff9b::/64"],
    ["unknown", "unknown"],
  ])("%s counts against %s", (ip, client) => {
    expect(authFailureClient(ip)).toBe(client);
  });

  it("puts requests without a known address in one shared budget", () => {
    expect(authFailureClient(null)).toBe("unknown");
    expect(authFailureClient("")).toBe("unknown");
  });

  it("gives every address of one /64 the same budget and another /64 its own", () => {
    const a = authFailureClient("2001:db8:aa:1::1");
    expect(authFailureClient("2001:db8:aa:1:ffff:ffff:ffff:ffff")).toBe(a);
    expect(authFailureClient("2001:db8:aa:2::1")).not.toBe(a);
  });
});

describe("authLockout and countAuthFailure", () => {
  it("lets N failures through, then refuses the address with 429 and Retry-After until the window has passed", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2026-12-01T00:00:00Z") });
    setAuthFailureStore(new RateLimiterMemory({ points: 3, duration: 60 }));
    const started: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      expect(await authLockout("192.0.2.1")).toBeNull();
      started.push(await countAuthFailure("192.0.2.1"));
    }
    // exactly the third failure starts the lockout
    expect(started).toEqual([false, false, true]);
    const refusal = await authLockout("192.0.2.1");
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: "rate-limited", status: 429, retryAfter: 60 });
    expect(refusal!.message).toMatch(/Too many failed authentications from this address \(3 within 60 s\)/);
    // another address is not affected
    expect(await authLockout("192.0.2.2")).toBeNull();

    vi.setSystemTime(Date.now() + 59_500);
    expect(await authLockout("192.0.2.1")).toMatchObject({ retryAfter: 1 });
    vi.setSystemTime(Date.now() + 500);
    expect(await authLockout("192.0.2.1")).toBeNull();
    // a new window: counting starts again at one
    expect(await countAuthFailure("192.0.2.1")).toBe(false);
    expect(await authLockout("192.0.2.1")).toBeNull();
  });

  it("counts failures past the threshold without starting the lockout again", async () => {
    setAuthFailureStore(new RateLimiterMemory({ points: 2, duration: 60 }));
    const started: boolean[] = [];
    for (let i = 0; i < 4; i++) started.push(await countAuthFailure("c"));
    expect(started).toEqual([false, true, false, false]);
  });

  it("does not limit (and logs once, not per request) while its store is unreachable", async () => {
    const broken = new RateLimiterMemory({ points: 1, duration: 60 }) as RateLimiterAbstract;
    vi.spyOn(broken, "get").mockRejectedValue(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
    vi.spyOn(broken, "consume").mockRejectedValue(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
    setAuthFailureStore(broken);
    const lines: string[] = [];
    const g = globalThis as unknown as { __consentryLogger?: ReturnType<typeof createLogger> };
    const before = g.__consentryLogger;
    g.__consentryLogger = createLogger({ write: (s: string) => void lines.push(s) });
    try {
      for (let i = 0; i < 5; i++) {
        expect(await countAuthFailure("192.0.2.9")).toBe(false);
        expect(await authLockout("192.0.2.9")).toBeNull();
      }
    } finally {
      g.__consentryLogger = before;
    }
    // the check before each request reads only this process's memory (lockouts it counted or was told of)
    expect(broken.get).not.toHaveBeenCalled();
    expect(broken.consume).toHaveBeenCalledTimes(5);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "error",
      msg: expect.stringMatching(/store failed: not limiting/),
      err: { message: expect.stringMatching(/ECONNREFUSED/) },
    });
  });
});
