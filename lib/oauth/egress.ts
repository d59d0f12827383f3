// Hand-written because it was measured to pay: a pinned-DNS client with one deadline, a byte cap, no redirects.
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
//   are normalised by the WHATWG URL parser; literal and resolved addresses are parsed and their
//   special-purpose ranges named by ipaddr.js, and only the policy below is Consentry's own.
// - Redirects are never followed, the total time (DNS + connect + headers + body) is bounded, and so is
//   the body size. Errors carry a message that is safe to show and never contain the upstream body.
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { Readable, Transform, pipeline } from "node:stream";
import ipaddr from "ipaddr.js";
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
// Address classification: ipaddr.js parses the notations and names the special-purpose ranges
// ---------------------------------------------------------------------------------------------

export type AddressClass = { kind: "public" } | { kind: "loopback" } | { kind: "blocked"; reason: string };

const PUBLIC: AddressClass = { kind: "public" };
const LOOPBACK: AddressClass = { kind: "loopback" };
const blocked = (reason: string): AddressClass => ({ kind: "blocked", reason });

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Address text → address, or null. IPv4 only as four plain decimal parts: that is what the WHATWG URL
 * parser and resolvers emit, and a part such as "010" is octal to some parsers and decimal to others.
 * IPv6 in any RFC 4291 form, a zone id (which names a local interface, not the peer) dropped.
 */
function parseIp(text: string): Ip | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  const v6 = bare.replace(/%.*$/s, "");
  if (!ipaddr.IPv6.isValid(v6)) return null;
  const dotted = /:([^:]*\.[^:]*)$/.exec(v6)?.[1];
  if (dotted !== undefined) {
    // ipaddr reads an embedded IPv4 with parseInt, so "0x7f" or "0177" would pass as an octet.
    if (!ipaddr.IPv4.isValidFourPartDecimal(dotted)) return null;
    // ipaddr turns IPv4-compatible "::a.b.c.d" into IPv4-mapped "::ffff:a.b.c.d"; keep it in ::/96.
    if (v6 === `::${dotted}`) return ipaddr.IPv6.parse(`::0:${dotted}`);
  }
  return ipaddr.IPv6.parse(v6);
}

// Why each ipaddr range is refused; a name a later ipaddr adds is refused too. ipaddr's "reserved" holds
// the documentation and benchmarking ranges. AS112 and AMT are reachable anycast services no provider
// lives on: where ipaddr names a range that a plain table would pass as public, the stricter reading wins.
const V4_BLOCKED: Record<string, string> = {
  unspecified: '"this network" (0.0.0.0/8)',
  private: "private network",
  carrierGradeNat: "carrier-grade NAT",
  linkLocal: "link-local (cloud metadata)",
  multicast: "multicast",
  broadcast: "broadcast",
  reserved: "reserved, documentation or benchmarking",
  as112: "DNS sink (AS112)",
  amt: "multicast relay (AMT)",
};
const V6_BLOCKED: Record<string, string> = {
  unspecified: "unspecified (::)",
  rfc6145: "IPv4-translated IPv6",
  uniqueLocal: "unique local IPv6 (fc00::/7)",
  linkLocal: "link-local IPv6 (fe80::/10)",
  deprecatedSiteLocal: "site-local IPv6 (fec0::/10)",
  multicast: "multicast IPv6",
  // Refused whatever IPv4 it carries: its client address is obfuscated, and refusing is stricter than unwrapping.
  teredo: "Teredo IPv6 (2001::/32)",
  reserved: "reserved or documentation IPv6 (2001::/23, 2001:db8::/32, 3fff::/20)",
};

/** ipaddr's range names are identifiers ("segmentRouting"); a reason is read by a person. */
const words = (name: string) => name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);

// What ipaddr does not name: it calls ::/96 and everything outside 2000::/3 "unicast", and its rfc6052
// covers both the NAT64 prefix that carries an IPv4 and local-use 64:ff9b:1::/48.
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR("::/96");
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR("2000::/3");
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR("64:ff9b::/96");

function classifyV4(ip: ipaddr.IPv4): AddressClass {
  const range = ip.range();
  if (range === "unicast") return PUBLIC;
  if (range === "loopback") return LOOPBACK;
  return blocked(V4_BLOCKED[range] ?? `special-purpose IPv4 (${words(range)})`);
}

/** An IPv4 address carried inside an IPv6 one must itself be public; loopback is not allowed this way. */
function embeddedV4(bytes: number[], what: string): AddressClass {
  const inner = classifyV4(new ipaddr.IPv4(bytes));
  if (inner.kind === "public") return PUBLIC;
  return blocked(`${what} embedding a ${inner.kind === "loopback" ? "loopback" : inner.reason} IPv4`);
}

function classifyV6(ip: ipaddr.IPv6): AddressClass {
  const range = ip.range();
  const bytes = ip.toByteArray();
  switch (range) {
    case "loopback":
      return LOOPBACK;
    case "ipv4Mapped":
      return embeddedV4(bytes.slice(12), "IPv4-mapped IPv6");
    case "rfc6052":
      return ip.match(NAT64_WELL_KNOWN)
        ? embeddedV4(bytes.slice(12), "NAT64 (64:ff9b::/96)")
        : blocked("local-use NAT64 (64:ff9b:1::/48)");
    case "6to4":
      return embeddedV4(bytes.slice(2, 6), "6to4 (2002::/16)");
    case "unicast":
      if (ip.match(IPV4_COMPATIBLE)) return blocked("IPv4-compatible IPv6 (deprecated)");
      return ip.match(GLOBAL_UNICAST) ? PUBLIC : blocked("reserved IPv6");
    default:
      return blocked(V6_BLOCKED[range] ?? `special-purpose IPv6 (${words(range)})`);
  }
}

const classify = (ip: Ip): AddressClass => (ip instanceof ipaddr.IPv4 ? classifyV4(ip) : classifyV6(ip));

/** Classifies a textual IP address (canonical IPv4 or any IPv6 form, with or without brackets). */
export function classifyIp(address: string): AddressClass {
  const ip = parseIp(address);
  return ip === null ? blocked("unrecognised") : classify(ip);
}

function isAllowed(c: AddressClass, allowLoopback: boolean): boolean {
  return c.kind === "public" || (c.kind === "loopback" && allowLoopback);
}

// ---------------------------------------------------------------------------------------------
// URL and host checks
// ---------------------------------------------------------------------------------------------

/** `ip` is set when the host is an IP literal: the very address that is classified and connected to. */
type Target = { url: URL; host: string; ip: Ip | null };

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
  const ip = parseIp(bare);
  if (ip === null) {
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
  return { url, host: bare, ip };
}

type Vetted = { address: string; family: 4 | 6 };

async function resolveAndVet(target: Target, allowLoopback: boolean): Promise<Vetted[]> {
  const { host } = target;
  if (target.ip) {
    const c = classify(target.ip);
    if (!isAllowed(c, allowLoopback)) throw blockedError(host, c, false);
    return [{ address: host, family: target.ip instanceof ipaddr.IPv6 ? 6 : 4 }];
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
  return (await vetUrl(url))?.message ?? null;
}

/** assertSafeUrl's check, answering with the refusal itself (its code and host) rather than its message. */
export async function vetUrl(url: string): Promise<EgressError | null> {
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
    if (e instanceof EgressError) return e;
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

function pinnedLookup(addresses: Vetted[]): net.LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : undefined;
    const candidates = family ? addresses.filter((a) => a.family === family) : addresses;
    const list = candidates.length > 0 ? candidates : addresses;
    if (options.all) (callback as (err: null, addresses: Vetted[]) => void)(null, list);
    else callback(null, list[0]!.address, list[0]!.family);
  };
}

// Keep-alive: a refresh run sends thousands of requests to a handful of token endpoints, and a new
// TCP (and TLS) connection for each cost more than the request. One agent per scheme, host, port and
// vetted address set: a socket is only ever reused for the host and addresses it was vetted for, and
// a changed DNS answer gets an agent of its own. Idle sockets close after 4 s, before common servers'
// own keep-alive timeouts (Node's 5 s), so a request is not written to a socket the server is closing.
const AGENT_IDLE_MS = 4_000;
const MAX_AGENTS = 256;
const agents = new Map<string, http.Agent>();

function agentFor(url: URL, host: string, addresses: Vetted[]): http.Agent {
  const key = `${url.protocol}//${host}:${url.port}|${addresses.map((a) => a.address).join(",")}`;
  const found = agents.get(key);
  if (found) {
    // least recently used first in the map's order
    agents.delete(key);
    agents.set(key, found);
    return found;
  }
  const options = {
    keepAlive: true,
    timeout: AGENT_IDLE_MS,
    maxFreeSockets: 16,
    scheduling: "lifo" as const,
    lookup: pinnedLookup(addresses),
  };
  const agent = url.protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
  agents.set(key, agent);
  // the least recently used agent is forgotten, not destroyed: a request on it finishes, its idle sockets time out
  if (agents.size > MAX_AGENTS) agents.delete(agents.keys().next().value!);
  return agent;
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
        // The connection goes to the vetted addresses and nowhere else: new sockets through the pinned
        // lookup, reused ones only within the agent of this exact host and vetted address set.
        agent: agentFor(url, host, addresses),
        lookup: pinnedLookup(addresses),
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

const SETTLED = Object.freeze(new Error("egress request settled"));

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
    // whatever is still listening stops; a shared reason, because abort() without one builds a
    // DOMException each time (measured: 2.5% of a scheduled refresh's CPU)
    controller.abort(SETTLED);
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming requests (the provider proxy): the same URL, address and redirect policy; the answer's
// body is handed on as it arrives, counted against the cap and cut off at the deadline.
// ---------------------------------------------------------------------------------------------

export type EgressStreamInit = {
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Total time for DNS, connect, response headers and the whole body. */
  timeoutMs: number;
  /** Largest accepted response body: a larger declared length is refused, a longer stream is cut off. */
  maxBytes: number;
};

export type EgressStreamResponse = {
  status: number;
  /** Node's raw header list: name, value, name, value, … */
  rawHeaders: string[];
  /** the body as it arrives; destroyed with an EgressError when it passes the cap or the deadline */
  body: Readable;
};

/**
 * One request under the egress policy whose answer is streamed. Resolves once the response headers
 * are in; throws EgressError (like egressFetch) for anything before that. After that, the deadline and
 * the cap end the body stream with an EgressError, and destroying the body stream ends the request.
 */
export async function egressStream(url: string, init: EgressStreamInit): Promise<EgressStreamResponse> {
  const allowLoopback = env().egress.allowLoopback;
  const target = parseTarget(url, allowLoopback);
  const { host } = target;
  let req: http.ClientRequest | undefined;
  let body: Readable | undefined;
  let expired = false;
  const late = () =>
    new EgressError("timeout", `${host} did not answer within ${init.timeoutMs / 1000} seconds.`, { host });
  const timer = setTimeout(() => {
    expired = true;
    if (body) body.destroy(late());
    else req?.destroy(late());
  }, init.timeoutMs);
  timer.unref();
  try {
    const addresses = await resolveAndVet(target, allowLoopback);
    if (expired) throw late();
    const headers: Record<string, string> = { "user-agent": "Consentry" };
    for (const [k, v] of Object.entries(init.headers)) {
      const key = k.toLowerCase();
      if (!RESERVED_HEADERS.has(key)) headers[key] = v;
    }
    if (init.body) headers["content-length"] = String(init.body.length);
    else if (!["GET", "HEAD", "DELETE"].includes(init.method)) headers["content-length"] = "0";
    const mod = target.url.protocol === "https:" ? https : http;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req = mod.request({
        protocol: target.url.protocol,
        host,
        port: target.url.port ? Number(target.url.port) : undefined,
        path: `${target.url.pathname}${target.url.search}`,
        method: init.method,
        headers,
        agent: agentFor(target.url, host, addresses),
        lookup: pinnedLookup(addresses),
        insecureHTTPParser: false,
      });
      req.on("error", (e) => reject(expired ? late() : networkError(host, e)));
      req.on("response", resolve);
      req.end(init.body);
    });
    const declared = Number(res.headers["content-length"]);
    if (Number.isFinite(declared) && declared > init.maxBytes) {
      res.destroy();
      throw new EgressError("too_large", `The response from ${host} is larger than ${init.maxBytes} bytes.`, { host });
    }
    let total = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        total += chunk.length;
        if (total > init.maxBytes)
          done(
            new EgressError("too_large", `The response from ${host} is larger than ${init.maxBytes} bytes.`, { host }),
          );
        else done(null, chunk);
      },
    });
    body = counted;
    // the upstream response and the counted stream end together, whichever side ends first
    pipeline(res, counted, (err) => {
      clearTimeout(timer);
      if (err && !counted.destroyed) counted.destroy(err instanceof EgressError ? err : networkError(host, err));
    });
    counted.on("close", () => {
      clearTimeout(timer);
      if (!res.complete) res.destroy();
    });
    return { status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: counted };
  } catch (e) {
    clearTimeout(timer);
    throw networkError(host, e);
  }
}
