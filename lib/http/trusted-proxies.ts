// The address ranges of the proxies in front of Consentry (CONSENTRY_TRUSTED_PROXIES), parsed with
// ipaddr.js. Imports nothing of ours: lib/env.ts validates the setting with it.
import ipaddr from "ipaddr.js";

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;
export type TrustedRanges = ReadonlyArray<readonly [IpAddress, number]>;

/**
 * "10.0.0.0/8, 2001:db8::/32, 192.0.2.7" as ranges (a bare address is a range of one), or the entries
 * that are not ranges. An IPv4 range given in IPv4-mapped IPv6 form is kept as IPv4.
 */
export function parseTrustedProxies(list: string): { ranges: TrustedRanges } | { invalid: string[] } {
  const ranges: Array<readonly [IpAddress, number]> = [];
  const invalid: string[] = [];
  for (const raw of list.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const [a, b] = entry.split("/");
    const addr = strictIp(a!);
    const max = addr?.kind() === "ipv4" ? 32 : 128;
    const bits = b === undefined ? max : /^\d{1,3}$/.test(b) ? Number(b) : NaN;
    if (!addr || !(bits <= max) || entry.split("/").length > 2) invalid.push(entry);
    else if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
      ranges.push([(addr as ipaddr.IPv6).toIPv4Address(), bits - 96]);
    else ranges.push([addr, bits]);
  }
  return invalid.length ? { invalid } : { ranges };
}

/** An address as a peer or a proxy reports it ("::ffff:192.0.2.1", "192.0.2.1:443", "[2001:db8::1]:443", "fe80::1%eth0"), or null when it is none. */
export function parseIp(s: string): IpAddress | null {
  let v = s.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracketed) v = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(":"));
  const a = strictIp(v.replace(/%.*$/, "")); // a zone id names the local interface
  return a?.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

/** Dotted-quad IPv4 or IPv6 only: ipaddr.parse also takes "127.1" and "0x7f000001", which no proxy writes. */
function strictIp(v: string): IpAddress | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(v)) return ipaddr.IPv4.parse(v);
  if (v.includes(":") && ipaddr.IPv6.isValid(v)) return ipaddr.IPv6.parse(v);
  return null;
}

export function isTrusted(addr: IpAddress, ranges: TrustedRanges): boolean {
  for (const [net, bits] of ranges) if (net.kind() === addr.kind() && addr.match(net, bits)) return true;
  return false;
}
