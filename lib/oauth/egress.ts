// The ONLY way Consentry makes outbound HTTP requests to providers (token endpoints, customer URLs, …).
//
// SSRF defence (SECURITY.md case 28 and "Also required"):
// - https only, no userinfo; http:// and loopback only under the test-only allowance
//   (env().egress.allowLoopback). Private, CGNAT, link-local/metadata and reserved ranges stay blocked
//   even then.
// - The host name is resolved once (all addresses); if ANY address is not public the request is refused.
//   The connection then goes to exactly those vetted addresses (a pinned `lookup`), so a DNS answer
//   that changes between check and connect (rebinding) cannot redirect the request. SNI and Host stay
//   the host name, so TLS certificate checks are unchanged.
// - Literal IPs in every spelling (2130706433, 0177.0.0.1, 0x7f.1, 127.1, [::1], [::ffff:7f00:1], …)
//   are normalised by the WHATWG URL parser and then classified like resolved addresses.
// - Redirects are never followed, the total time (DNS + connect + headers + body) is bounded, and so is
//   the body size. Errors carry a message that is safe to show and never contain the upstream body.
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { env } from "@/lib/env";

export type EgressErrorCode = "blocked_address" | "invalid_url" | "timeout" | "too_large" | "network";

export class EgressError extends Error {
  readonly code: EgressErrorCode;
  /** The host name the request was for (the caller's own configuration, safe to show). */
  readonly host?: string;
  constructor(code: EgressErrorCode, message: string, opts: { host?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "EgressError";
    this.code = code;
    this.host = opts.host;
  }
}

export type EgressInit = {
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Total time for DNS, connect, response headers and the whole body. Default 10 000 ms. */
  timeoutMs?: number;
  /** Largest accepted response body. Default 256 KiB. */
  maxBytes?: number;
};

export type EgressResponse = { status: number; headers: Headers; text: string; url: string };

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BYTES = 256 * 1024;
const MAX_URL_LENGTH = 2048;
/** Save-time validation resolves the host too; it should not hang a form submission. */
const ASSERT_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Address classification
// ---------------------------------------------------------------------------------------------

export type AddressClass = { kind: "public" } | { kind: "loopback" } | { kind: "blocked"; reason: string };

const PUBLIC: AddressClass = { kind: "public" };
const LOOPBACK: AddressClass = { kind: "loopback" };
const blocked = (reason: string): AddressClass => ({ kind: "blocked", reason });

/** Canonical dotted-quad IPv4 → unsigned 32-bit integer; null for anything else. */
function parseIPv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return null;
    n = n * 256 + part;
  }
  return n;
}

/** IPv6 text (optionally with a zone id and/or an embedded dotted quad) → eight 16-bit groups. */
function parseIPv6(input: string): number[] | null {
  let s = input;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!net.isIPv6(s)) return null;
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIPv4(tail);
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 ? fill !== 0 : fill < 0) return null;
  const groups = [...head, ...Array<string>(fill).fill("0"), ...rest].map((h) => parseInt(h, 16));
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  return groups;
}

const V4_RANGES: Array<[base: string, bits: number, reason: string | "loopback"]> = [
  ["0.0.0.0", 8, '"this network" (0.0.0.0/8)'],
  ["10.0.0.0", 8, "private network"],
  ["100.64.0.0", 10, "carrier-grade NAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local (cloud metadata)"],
  ["172.16.0.0", 12, "private network"],
  ["192.0.0.0", 24, "IETF protocol assignment"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay"],
  ["192.168.0.0", 16, "private network"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved or broadcast"],
];
const V4_TABLE = V4_RANGES.map(([base, bits, reason]) => ({ base: parseIPv4(base)!, bits, reason }));

function inV4(ip: number, base: number, bits: number): boolean {
  const shift = 32 - bits;
  return Math.floor(ip / 2 ** shift) === Math.floor(base / 2 ** shift);
}

function classifyV4(ip: number): AddressClass {
  for (const r of V4_TABLE) {
    if (inV4(ip, r.base, r.bits)) return r.reason === "loopback" ? LOOPBACK : blocked(r.reason);
  }
  return PUBLIC;
}

/** An IPv4 address carried inside an IPv6 one must itself be public; loopback is not allowed this way. */
function embeddedV4(hi: number, lo: number, what: string): AddressClass {
  const inner = classifyV4(hi * 0x10000 + lo);
  if (inner.kind === "public") return PUBLIC;
  return blocked(`${what} embedding a ${inner.kind === "loopback" ? "loopback" : inner.reason} IPv4`);
}

function classifyV6(g: number[]): AddressClass {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const first4Zero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0;
  if (first4Zero && g4 === 0 && g5 === 0) {
    if (g6 === 0 && g7 === 0) return blocked("unspecified (::)");
    if (g6 === 0 && g7 === 1) return LOOPBACK;
    return blocked("IPv4-compatible IPv6 (deprecated)");
  }
  if (first4Zero && g4 === 0 && g5 === 0xffff) return embeddedV4(g6, g7, "IPv4-mapped IPv6");
  if (first4Zero && g4 === 0xffff && g5 === 0) return blocked("IPv4-translated IPv6");
  if (g0 === 0x64 && g1 === 0xff9b) {
    if (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embeddedV4(g6, g7, "NAT64 (64:ff9b::/96)");
    if (g2 === 1) return blocked("local-use NAT64 (64:ff9b:1::/48)");
  }
  if (g0 === 0x2002) return embeddedV4(g1, g2, "6to4 (2002::/16)");
  if ((g0 & 0xfe00) === 0xfc00) return blocked("unique local IPv6 (fc00::/7)");
  if ((g0 & 0xffc0) === 0xfe80) return blocked("link-local IPv6 (fe80::/10)");
  if ((g0 & 0xffc0) === 0xfec0) return blocked("site-local IPv6 (fec0::/10)");
  if ((g0 & 0xff00) === 0xff00) return blocked("multicast IPv6");
  // Only global unicast (2000::/3) is public; everything else is reserved or special-purpose.
  if ((g0 & 0xe000) !== 0x2000) return blocked("reserved IPv6");
  if (g0 === 0x2001 && g1 < 0x200) return blocked("special-purpose IPv6 (2001::/23: Teredo, benchmarking, ORCHID)");
  if (g0 === 0x2001 && g1 === 0xdb8) return blocked("documentation IPv6 (2001:db8::/32)");
  if (g0 === 0x3fff && g1 < 0x1000) return blocked("documentation IPv6 (3fff::/20)");
  return PUBLIC;
}

/** Classifies a textual IP address (canonical IPv4 or any IPv6 form, with or without brackets). */
export function classifyIp(address: string): AddressClass {
  const a = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const v4 = parseIPv4(a);
  if (v4 !== null) return classifyV4(v4);
  const v6 = parseIPv6(a);
  if (v6 !== null) return classifyV6(v6);
  return blocked("unrecognised");
}

function isAllowed(c: AddressClass, allowLoopback: boolean): boolean {
  return c.kind === "public" || (c.kind === "loopback" && allowLoopback);
}

// ---------------------------------------------------------------------------------------------
// URL and host checks
// ---------------------------------------------------------------------------------------------

type Target = { url: URL; host: string; literal: boolean };

const SPECIAL_USE_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa"];

function parseTarget(raw: string, allowLoopback: boolean): Target {
  if (typeof raw !== "string" || raw.length === 0) throw new EgressError("invalid_url", "The URL is empty.");
  if (raw.length > MAX_URL_LENGTH)
    throw new EgressError("invalid_url", `The URL is longer than ${MAX_URL_LENGTH} characters.`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EgressError("invalid_url", "The URL is not valid.");
  }
  const allowedProtocols = allowLoopback ? ["https:", "http:"] : ["https:"];
  if (!allowedProtocols.includes(url.protocol)) throw new EgressError("invalid_url", "Only https:// URLs are allowed.");
  if (url.username || url.password) {
    throw new EgressError("invalid_url", "URLs with a user name or password (user@host) are not allowed.");
  }
  // WHATWG parsing has already turned every IPv4 spelling (decimal, octal, hex, short) into a dotted quad.
  const hostname = url.hostname;
  if (!hostname) throw new EgressError("invalid_url", "The URL has no host name.");
  const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  const literal = net.isIP(bare) !== 0;
  if (!literal) {
    const name = bare.replace(/\.$/, "").toLowerCase();
    const localName = name === "localhost" || SPECIAL_USE_SUFFIXES.some((s) => name.endsWith(s));
    if (localName && !(allowLoopback && (name === "localhost" || name.endsWith(".localhost")))) {
      throw new EgressError(
        "blocked_address",
        `${bare} is a local-only host name; Consentry only connects to public internet hosts.`,
        { host: bare },
      );
    }
    if (!name.includes(".") && name !== "localhost") {
      throw new EgressError(
        "invalid_url",
        `The host name ${bare} must be a fully qualified domain name (for example login.example.com).`,
        { host: bare },
      );
    }
  }
  return { url, host: bare, literal };
}

type Vetted = { address: string; family: 4 | 6 };

async function resolveAndVet(target: Target, allowLoopback: boolean): Promise<Vetted[]> {
  const { host } = target;
  if (target.literal) {
    const c = classifyIp(host);
    if (!isAllowed(c, allowLoopback)) throw blockedError(host, c, false);
    return [{ address: host, family: net.isIPv6(host) ? 6 : 4 }];
  }
  let answers: Array<{ address: string; family: number }>;
  try {
    answers = await dns.promises.lookup(host, { all: true });
  } catch (e) {
    throw new EgressError("network", `The host ${host} could not be found.`, { host, cause: e });
  }
  if (answers.length === 0) throw new EgressError("network", `The host ${host} could not be found.`, { host });
  const vetted: Vetted[] = [];
  for (const a of answers) {
    const c = classifyIp(a.address);
    if (!isAllowed(c, allowLoopback)) throw blockedError(host, c, true);
    vetted.push({ address: a.address, family: a.family === 6 ? 6 : 4 });
  }
  return vetted;
}

function blockedError(host: string, c: AddressClass, resolved: boolean): EgressError {
  const reason = c.kind === "blocked" ? c.reason : "loopback";
  const what = resolved ? `${host} resolves to a ${reason} address` : `${host} is a ${reason} address`;
  return new EgressError("blocked_address", `${what}; Consentry only connects to public internet addresses.`, { host });
}

/**
 * Save-time validation of a URL Consentry will later call: syntax, https, no userinfo, and that the
 * host (literal or resolved now) is a public address. Returns null when the URL is acceptable, else a
 * message a person can act on. The check is repeated by egressFetch at request time.
 */
export async function assertSafeUrl(url: string): Promise<string | null> {
  const allowLoopback = env().egress.allowLoopback;
  let timer: NodeJS.Timeout | undefined;
  try {
    const target = parseTarget(url, allowLoopback);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new EgressError("timeout", `The host ${target.host} could not be resolved in time.`, { host: target.host }),
          ),
        ASSERT_TIMEOUT_MS,
      );
    });
    await Promise.race([resolveAndVet(target, allowLoopback), timeout]);
    return null;
  } catch (e) {
    if (e instanceof EgressError) return e.message;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The request
// ---------------------------------------------------------------------------------------------

/** Headers the caller may not set: they are derived from the URL and body, or would break framing. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "proxy-connection",
]);

function safeCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{2,64}$/.test(code) ? code : undefined;
}

function networkError(host: string, e: unknown): EgressError {
  if (e instanceof EgressError) return e;
  const code = safeCode(e);
  return new EgressError("network", `The request to ${host} failed${code ? ` (${code})` : ""}.`, { host, cause: e });
}

function toHeaders(raw: string[]): Headers {
  const h = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      h.append(raw[i]!, raw[i + 1]!);
    } catch {
      // a header the Fetch API cannot represent is dropped rather than failing the response
    }
  }
  return h;
}

function send(
  target: Target,
  addresses: Vetted[],
  init: EgressInit,
  maxBytes: number,
  signal: AbortSignal,
): Promise<EgressResponse> {
  const { url, host } = target;
  return new Promise<EgressResponse>((resolve, reject) => {
    let settled = false;
    const fail = (e: EgressError) => {
      if (settled) return;
      settled = true;
      reject(e);
      req?.destroy();
    };

    const headers: Record<string, string> = { "user-agent": "Consentry", accept: "application/json" };
    for (const [k, v] of Object.entries(init.headers ?? {})) {
      const key = k.toLowerCase();
      if (!RESERVED_HEADERS.has(key)) headers[key] = v;
    }
    const body = init.body === undefined ? undefined : Buffer.from(init.body, "utf8");
    if (body) headers["content-length"] = String(body.length);
    else if (init.method === "POST") headers["content-length"] = "0";

    // The connection goes to the vetted addresses and nowhere else.
    const lookup: net.LookupFunction = (_hostname, options, callback) => {
      const family = options.family === 4 || options.family === 6 ? options.family : undefined;
      const candidates = family ? addresses.filter((a) => a.family === family) : addresses;
      const list = candidates.length > 0 ? candidates : addresses;
      if (options.all) (callback as (err: null, addresses: Vetted[]) => void)(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    };

    let req: http.ClientRequest | undefined;
    try {
      const mod = url.protocol === "https:" ? https : http;
      req = mod.request({
        protocol: url.protocol,
        host,
        port: url.port ? Number(url.port) : undefined,
        path: `${url.pathname}${url.search}`,
        method: init.method,
        headers,
        agent: false,
        lookup,
        insecureHTTPParser: false,
      });
    } catch (e) {
      fail(networkError(host, e));
      return;
    }

    const onAbort = () => fail(new EgressError("timeout", `${host} did not answer in time.`, { host }));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });

    req.on("error", (e) => fail(networkError(host, e)));
    req.on("response", (res) => {
      const tooLarge = () =>
        new EgressError("too_large", `The response from ${host} is larger than ${maxBytes} bytes.`, { host });
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBytes) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let total = 0;
      let ended = false;
      res.on("data", (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) return fail(tooLarge());
        chunks.push(chunk);
      });
      res.on("error", (e) => fail(networkError(host, e)));
      res.on("end", () => {
        ended = true;
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        resolve({
          status: res.statusCode ?? 0,
          headers: toHeaders(res.rawHeaders),
          text: Buffer.concat(chunks).toString("utf8"),
          url: url.href,
        });
      });
      res.on("close", () => {
        if (!ended)
          fail(
            new EgressError("network", `The connection to ${host} closed before the response was complete.`, { host }),
          );
      });
    });
    req.end(body);
  });
}

/**
 * Makes one HTTP request to a provider under the egress policy. Never follows redirects (a 3xx is
 * returned as is). Throws EgressError on a refused URL or address, a timeout (total, including a
 * trickling body), a body larger than maxBytes, or any network/TLS failure.
 */
export async function egressFetch(url: string, init: EgressInit): Promise<EgressResponse> {
  if (init.method !== "GET" && init.method !== "POST")
    throw new TypeError(`egressFetch: unsupported method ${String(init.method)}`);
  if (init.method === "GET" && init.body !== undefined)
    throw new TypeError("egressFetch: a GET request cannot have a body");
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = init.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new TypeError("egressFetch: timeoutMs must be a positive number");
  if (!Number.isInteger(maxBytes) || maxBytes < 0)
    throw new TypeError("egressFetch: maxBytes must be a non-negative integer");

  const allowLoopback = env().egress.allowLoopback;
  const target = parseTarget(url, allowLoopback);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new EgressError("timeout", `${target.host} did not answer within ${timeoutMs / 1000} seconds.`, {
          host: target.host,
        }),
      );
      controller.abort();
    }, timeoutMs);
  });
  try {
    const addresses = await Promise.race([resolveAndVet(target, allowLoopback), timeout]);
    return await Promise.race([send(target, addresses, init, maxBytes, controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
