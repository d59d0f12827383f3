// The client address behind trusted proxies (lib/http/client-ip.ts, CONSENTRY_TRUSTED_PROXIES):
// X-Forwarded-For counts only when the socket peer is a trusted proxy, read from the right, the first
// address that is not a trusted proxy wins; spoofed entries left of it are never believed. The
// server's use of it: tests/integration/shared-limits.test.ts.
import { describe, expect, it } from "vitest";
import { resolveClientIp } from "@/lib/http/client-ip";
import { parseTrustedProxies, type TrustedRanges } from "@/lib/http/trusted-proxies";

function ranges(list: string): TrustedRanges {
  const r = parseTrustedProxies(list);
  if (!("ranges" in r)) throw new Error(`invalid: ${r.invalid.join(", ")}`);
  return r.ranges;
}

const LB = ranges("10.0.0.0/8, 2001:db8:ffff::/48");

describe("parseTrustedProxies", () => {
  it("reads CIDRs and bare addresses, IPv4 and IPv6, ignoring blanks", () => {
    const r = ranges(" 10.0.0.0/8,192.0.2.7 ,, 2001:db8::/32,::1 ");
    expect(r.map(([a, b]) => `${a.toString()}/${b}`)).toEqual([
      "10.0.0.0/8",
      "192.0.2.7/32",
      "2001:db8::/32",
      "::1/128",
    ]);
  });

  it("keeps an IPv4-mapped IPv6 range as the IPv4 range it is", () => {
    expect(ranges("::ffff:10.1.0.0/112").map(([a, b]) => `${a.toString()}/${b}`)).toEqual(["10.1.0.0/16"]);
  });

  it("names every entry that is not a range", () => {
    expect(
      parseTrustedProxies("10.0.0.0/8, 10.0.0.0/33, proxy.internal, 127.1, 10.0.0.0/8/1, ::1/129, 1.2.3.4/"),
    ).toEqual({
      invalid: ["10.0.0.0/33", "proxy.internal", "127.1", "10.0.0.0/8/1", "::1/129", "1.2.3.4/"],
    });
  });

  it("an empty setting trusts nobody", () => {
    expect(ranges("")).toEqual([]);
  });
});

describe("resolveClientIp", () => {
  it("without trusted proxies: the socket peer as Node reports it, X-Forwarded-For ignored", () => {
    expect(resolveClientIp("::ffff:203.0.113.9", "198.51.100.1", [])).toBe("::ffff:203.0.113.9");
    expect(resolveClientIp(undefined, "198.51.100.1", [])).toBeNull();
  });

  it("from a peer that is not a trusted proxy: X-Forwarded-For is ignored (spoofing)", () => {
    expect(resolveClientIp("203.0.113.9", "198.51.100.1", LB)).toBe("203.0.113.9");
    expect(resolveClientIp("::ffff:203.0.113.9", "10.0.0.1", LB)).toBe("::ffff:203.0.113.9");
  });

  it("from a trusted proxy: the right-most address that is not a trusted proxy", () => {
    expect(resolveClientIp("10.0.0.2", "198.51.100.1", LB)).toBe("198.51.100.1");
    // Node's IPv4-mapped form of an IPv4 peer matches IPv4 ranges
    expect(resolveClientIp("::ffff:10.0.0.2", "198.51.100.1", LB)).toBe("198.51.100.1");
    // a chain of trusted proxies is skipped
    expect(resolveClientIp("10.0.0.2", "198.51.100.1, 10.9.9.9, 10.0.0.3", LB)).toBe("198.51.100.1");
    // whatever the client put left of its own address is not believed
    expect(resolveClientIp("10.0.0.2", "192.0.2.66, 10.1.1.1, 198.51.100.1", LB)).toBe("198.51.100.1");
    // several X-Forwarded-For headers read as one list
    expect(resolveClientIp("10.0.0.2", ["192.0.2.66", "198.51.100.1, 10.0.0.3"], LB)).toBe("198.51.100.1");
  });

  it("IPv6 clients and proxies, with ports and brackets as some proxies write them", () => {
    expect(resolveClientIp("2001:db8:ffff::5", "2001:db8:1:2::7", LB)).toBe("2001:db8:1:2::7");
    expect(resolveClientIp("10.0.0.2", "[2001:db8:1:2::7]:51234", LB)).toBe("2001:db8:1:2::7");
    expect(resolveClientIp("10.0.0.2", "198.51.100.1:443", LB)).toBe("198.51.100.1");
    expect(resolveClientIp("10.0.0.2", "::ffff:198.51.100.1", LB)).toBe("198.51.100.1");
  });

  it("all trusted: the farthest hop; none forwarded: the proxy itself", () => {
    expect(resolveClientIp("10.0.0.2", "10.0.0.9, 10.0.0.3", LB)).toBe("10.0.0.9");
    expect(resolveClientIp("10.0.0.2", undefined, LB)).toBe("10.0.0.2");
    expect(resolveClientIp("10.0.0.2", " , ", LB)).toBe("10.0.0.2");
  });

  it("an entry that is not an address ends the walk at the proxy that wrote it", () => {
    expect(resolveClientIp("10.0.0.2", "198.51.100.1, unknown", LB)).toBe("10.0.0.2");
    expect(resolveClientIp("10.0.0.2", "198.51.100.1, garbage, 10.0.0.3", LB)).toBe("10.0.0.3");
    expect(resolveClientIp("10.0.0.2", "garbage, 198.51.100.1", LB)).toBe("198.51.100.1");
  });
});
