// lib/oauth/egress.ts against real loopback servers. The production policy is the default env; the
// test-only loopback allowance is switched on through the environment and a fresh module graph, so the
// same code path as a deployment (env() → egress) is exercised.
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { generateSelfSignedCertificate } from "@/lib/crypto/certificates";
import { loadEnv } from "@/lib/env";

type EgressModule = typeof import("@/lib/oauth/egress");

async function loadEgress(allowLoopback: boolean): Promise<EgressModule> {
  vi.resetModules();
  if (allowLoopback) vi.stubEnv("CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS", "true");
  else vi.stubEnv("CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS", "");
  const mod = await import("@/lib/oauth/egress");
  // env() parses once and caches: read it now, while the variable is set, in the same module graph.
  expect((await import("@/lib/env")).env().egress.allowLoopback).toBe(allowLoopback);
  vi.unstubAllEnvs();
  return mod;
}

type Seen = { method: string; url: string; host: string | undefined; headers: http.IncomingHttpHeaders; body: string };
type TestServer = { port: number; seen: Seen[]; connections: () => number; close: () => Promise<void> };

async function startServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  opts: { host?: string; tls?: { cert: string; key: string } } = {},
): Promise<TestServer> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const wrapped = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", host: req.headers.host, headers: req.headers, body });
      handler(req, res);
    });
  };
  const server = opts.tls
    ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, wrapped)
    : http.createServer(wrapped);
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("secureConnection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, opts.host ?? "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    seen,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function egressErrorOf(p: Promise<unknown>): Promise<{ code: string; message: string; name: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code: string; message: string; name: string };
    return { code: err.code, message: err.message, name: err.name };
  }
  throw new Error("expected the request to be refused");
}

type LookupAnswer = Array<{ address: string; family: number }>;
/** Replaces Node's resolver (not Consentry code) for names the test controls. */
function fakeDns(answers: (host: string, call: number) => LookupAnswer | Error) {
  let calls = 0;
  const spy = vi.spyOn(dns.promises, "lookup").mockImplementation((async (host: string) => {
    const a = answers(host, calls++);
    if (a instanceof Error) throw a;
    return a;
  }) as unknown as typeof dns.promises.lookup);
  return { spy, calls: () => calls };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

// Every way of writing a non-public address in a URL. All must be refused as blocked_address.
const BLOCKED_URLS = [
  "https://127.0.0.1/",
  "https://127.255.255.254/",
  "https://2130706433/", // decimal
  "https://0177.0.0.1/", // octal
  "https://0x7f.1/", // hex + short
  "https://0x7f000001/",
  "https://017700000001/",
  "https://0x7f.0x0.0x0.0x1/",
  "https://127.1/", // short form
  "https://127.000.000.001/",
  "https://127.0.0.1.:8443/", // trailing dot
  "https://[::1]/",
  "https://[0:0:0:0:0:0:0:1]/",
  "https://[::]/",
  "https://0.0.0.0/",
  "https://0/",
  "https://0.1.2.3/",
  "https://10.0.0.1/",
  "https://10.255.255.255/",
  "https://172.16.0.1/",
  "https://172.31.255.255/",
  "https://192.168.0.1/",
  "https://192.168.255.255/",
  "https://100.64.0.1/",
  "https://100.127.255.254/",
  "https://169.254.169.254/latest/meta-data/",
  "https://169.254.0.1/",
  "https://2852039166/", // 169.254.169.254 in decimal
  "https://0xa9fea9fe/",
  "https://224.0.0.1/",
  "https://239.255.255.250/",
  "https://255.255.255.255/",
  "https://240.0.0.1/",
  "https://192.0.0.8/",
  "https://192.0.2.1/",
  "https://198.18.0.1/",
  "https://198.51.100.7/",
  "https://203.0.113.9/",
  "https://[fc00::1]/",
  "https://[fd12:3456:789a::1]/",
  "https://[fe80::1]/",
  "https://[febf::1]/",
  "https://[fec0::1]/",
  "https://[ff02::1]/",
  "https://[::ffff:127.0.0.1]/", // IPv4-mapped
  "https://[::ffff:7f00:1]/",
  "https://[::ffff:169.254.169.254]/",
  "https://[::ffff:10.0.0.1]/",
  "https://[::ffff:0:127.0.0.1]/", // IPv4-translated
  "https://[::127.0.0.1]/", // IPv4-compatible
  "https://[::8.8.8.8]/",
  "https://[64:ff9b::127.0.0.1]/", // NAT64
  "https://[64:ff9b::a9fe:a9fe]/",
  "https://[64:ff9b::10.0.0.1]/",
  "https://[64:ff9b:1::1]/",
  "https://[2002:7f00:1::]/", // 6to4
  "https://[2002:a9fe:a9fe::1]/",
  "https://[2002:c0a8:101::]/",
  "https://[2001::1]/", // Teredo
  "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", // Teredo carrying public IPv4s: refused all the same
  "https://[64:ff9b::192.168.1.1]/",
  "https://[2002:6440:1::]/", // 6to4 of carrier-grade NAT 100.64.0.1
  "https://[::0.0.0.0]/",
  "https://[::ffff:0.0.0.0]/",
  "https://[3fff::1]/",
  "https://[5f00::1]/",
  "https://[2001:db8::1]/",
  "https://[100::1]/",
  "https://localhost/",
  "https://LOCALHOST./",
  "https://api.localhost/",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://printer.local/",
];

const INVALID_URLS = [
  "http://login.example.com/token",
  "ftp://login.example.com/",
  "file:///etc/passwd",
  "javascript:alert(1)",
  "https://user:pass@login.example.com/",
  "https://user@login.example.com/",
  "https://:pw@login.example.com/",
  "not a url",
  "",
  "https://intranet/",
  "/relative/path",
  `https://login.example.com/${"a".repeat(2100)}`,
];

describe("classifyIp", () => {
  let egress: EgressModule;
  beforeAll(async () => {
    egress = await loadEgress(false);
  });

  it.each([
    ["8.8.8.8", "public"],
    ["1.1.1.1", "public"],
    ["11.0.0.0", "public"],
    ["9.255.255.255", "public"],
    ["172.15.255.255", "public"],
    ["172.32.0.0", "public"],
    ["100.63.255.255", "public"],
    ["100.128.0.0", "public"],
    ["169.253.255.255", "public"],
    ["169.255.0.0", "public"],
    ["192.167.255.255", "public"],
    ["223.255.255.255", "public"],
    ["2606:4700:4700::1111", "public"],
    ["2a00:1450:4001:80b::200e", "public"],
    ["::ffff:8.8.8.8", "public"],
    ["64:ff9b::808:808", "public"],
    ["2002:808:808::1", "public"],
    ["127.0.0.1", "loopback"],
    ["127.9.9.9", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["0:0:0:0:0:0:0:1", "loopback"],
    ["::ffff:127.0.0.1", "blocked"],
    ["::ffff:7f00:1", "blocked"],
    ["10.1.2.3", "blocked"],
    ["169.254.169.254", "blocked"],
    ["fe80::1%eth0", "blocked"],
    ["fd00:ec2::254", "blocked"],
    ["4000::1", "blocked"],
    ["not-an-ip", "blocked"],
    ["", "blocked"],
    ["2001:4860:4860::8888", "public"],
    ["3fff:1000::1", "public"],
    ["2002:c000:201::1", "blocked"], // 6to4 of documentation 192.0.2.1
    ["::", "blocked"],
    ["0.0.0.0", "blocked"],
    ["::127.0.0.1", "blocked"],
    ["::8.8.8.8", "blocked"],
    ["64:ff9b::127.0.0.1", "blocked"],
    ["64:ff9b::172.16.0.1", "blocked"],
    ["2002:7f00:1::", "blocked"],
    ["2002:a00:1::", "blocked"],
    ["2001:0:7f00:1::", "blocked"], // Teredo with a loopback server
    ["2001:0:808:808:0:0:f7f7:f7f7", "blocked"], // Teredo with public server and client (8.8.8.8)
    ["255.255.255.255", "blocked"],
    ["192.175.48.1", "blocked"], // AS112: ipaddr names it, the stricter reading wins
    ["2620:4f:8000::1", "blocked"],
    ["fe80::1%en0.5", "blocked"],
    ["fe80::1%", "blocked"],
    ["::ffff:0x7f.0.0.1", "blocked"],
    ["::ffff:010.0.0.1", "blocked"],
    ["::ffff:0x8.8.8.8", "blocked"], // an embedded IPv4 is plain decimal or nothing
    ["64:ff9b::08.8.8.8", "blocked"],
    ["010.0.0.1", "blocked"],
    ["2130706433", "blocked"],
    ["8.8.8.8%eth0", "blocked"],
  ])("%s is %s", (ip, kind) => {
    expect(egress.classifyIp(ip).kind).toBe(kind);
  });

  it.each([
    ["::ffff:10.0.0.1", "IPv4-mapped IPv6 embedding a private network IPv4"],
    ["64:ff9b::a9fe:a9fe", "NAT64 (64:ff9b::/96) embedding a link-local (cloud metadata) IPv4"],
    ["2002:7f00:1::", "6to4 (2002::/16) embedding a loopback IPv4"],
    ["2002:6440:1::", "6to4 (2002::/16) embedding a carrier-grade NAT IPv4"],
    ["::127.0.0.1", "IPv4-compatible IPv6 (deprecated)"],
    ["::8.8.8.8", "IPv4-compatible IPv6 (deprecated)"],
    ["::ffff:0:127.0.0.1", "IPv4-translated IPv6"],
    ["64:ff9b:1::a00:1", "local-use NAT64 (64:ff9b:1::/48)"],
    ["2001::1", "Teredo IPv6 (2001::/32)"],
    ["4000::1", "reserved IPv6"],
    ["::", "unspecified (::)"],
    ["0.0.0.0", '"this network" (0.0.0.0/8)'],
    ["192.0.2.1", "reserved, documentation or benchmarking"],
    ["2001:db8::1", "reserved or documentation IPv6 (2001::/23, 2001:db8::/32, 3fff::/20)"],
    ["5f00::1", "special-purpose IPv6 (segment routing)"],
  ])("%s is refused as %s", (ip, reason) => {
    expect(egress.classifyIp(ip)).toEqual({ kind: "blocked", reason });
  });
});

describe("production policy (no loopback allowance)", () => {
  let egress: EgressModule;
  let server: TestServer;
  beforeAll(async () => {
    egress = await loadEgress(false);
    server = await startServer((_req, res) => res.end("reached"));
  });
  afterAll(() => server.close());

  it("the allowance is off by default and only on when set", () => {
    expect(loadEnv({}).egress.allowLoopback).toBe(false);
    expect(loadEnv({ CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: "" }).egress.allowLoopback).toBe(false);
    expect(loadEnv({ CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: "false" }).egress.allowLoopback).toBe(false);
    expect(loadEnv({ CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: "true" }).egress.allowLoopback).toBe(true);
  });

  it.each(BLOCKED_URLS)("assertSafeUrl refuses %s", async (url) => {
    const dnsCalls = fakeDns(() => new Error("the resolver must not be asked"));
    const message = await egress.assertSafeUrl(url);
    expect(message).toMatch(/address|host/);
    expect(message).toMatch(/public internet/);
    expect(dnsCalls.calls()).toBe(0);
  });

  it.each(BLOCKED_URLS)("egressFetch refuses %s as blocked_address", async (url) => {
    fakeDns(() => new Error("the resolver must not be asked"));
    const err = await egressErrorOf(egress.egressFetch(url, { method: "GET" }));
    expect(err).toMatchObject({ name: "EgressError", code: "blocked_address" });
  });

  it.each(INVALID_URLS)("refuses %j as invalid_url", async (url) => {
    fakeDns(() => [{ address: "93.184.215.14", family: 4 }]);
    expect(await egress.assertSafeUrl(url)).toEqual(expect.any(String));
    const err = await egressErrorOf(egress.egressFetch(url, { method: "GET" }));
    expect(err.code).toBe("invalid_url");
  });

  it("explains what is wrong with a URL", async () => {
    expect(await egress.assertSafeUrl("http://login.example.com/")).toBe("Only https:// URLs are allowed.");
    expect(await egress.assertSafeUrl("https://u:p@login.example.com/")).toMatch(/user name or password/);
    expect(await egress.assertSafeUrl("https://intranet/")).toMatch(/fully qualified/);
    expect(await egress.assertSafeUrl("https://169.254.169.254/")).toBe(
      "169.254.169.254 is a link-local (cloud metadata) address; Consentry only connects to public internet addresses.",
    );
  });

  it("refuses a real loopback server on every spelling and never connects", async () => {
    for (const host of ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "localhost"]) {
      const err = await egressErrorOf(egress.egressFetch(`https://${host}:${server.port}/`, { method: "GET" }));
      expect(err.code, host).toBe("blocked_address");
      expect(await egress.assertSafeUrl(`https://${host}:${server.port}/`), host).not.toBeNull();
    }
    const plain = await egressErrorOf(egress.egressFetch(`http://127.0.0.1:${server.port}/`, { method: "GET" }));
    expect(plain.code).toBe("invalid_url");
    expect(server.seen).toHaveLength(0);
  });

  it("refuses a host name that resolves to 127.0.0.1 (real resolver: localhost.)", async () => {
    // The name rule would catch "localhost"; a resolved answer must be refused on its own.
    const resolved = fakeDns((host) =>
      host === "loopback.example.test" ? [{ address: "127.0.0.1", family: 4 }] : new Error("unexpected"),
    );
    expect(await egress.assertSafeUrl("https://loopback.example.test/")).toBe(
      "loopback.example.test resolves to a loopback address; Consentry only connects to public internet addresses.",
    );
    const err = await egressErrorOf(
      egress.egressFetch(`https://loopback.example.test:${server.port}/`, { method: "GET" }),
    );
    expect(err.code).toBe("blocked_address");
    expect(resolved.calls()).toBe(2);
    expect(server.seen).toHaveLength(0);
  });

  it.each([
    [
      [
        { address: "93.184.215.14", family: 4 },
        { address: "10.0.0.5", family: 4 },
      ],
      "private network",
    ],
    [[{ address: "169.254.169.254", family: 4 }], "link-local"],
    [
      [
        { address: "2606:4700::1", family: 6 },
        { address: "::1", family: 6 },
      ],
      "loopback",
    ],
    [[{ address: "::ffff:127.0.0.1", family: 6 }], "IPv4-mapped"],
    [[{ address: "fd00:ec2::254", family: 6 }], "unique local"],
    [[{ address: "64:ff9b::a00:1", family: 6 }], "NAT64"],
  ] as Array<[LookupAnswer, string]>)(
    "refuses a host name when ANY resolved address is not public (%j)",
    async (answer, reason) => {
      fakeDns(() => answer);
      const message = await egress.assertSafeUrl("https://mixed.example.test/token");
      expect(message).toContain(reason);
      const err = await egressErrorOf(
        egress.egressFetch("https://mixed.example.test/token", { method: "POST", body: "x=1" }),
      );
      expect(err.code).toBe("blocked_address");
    },
  );

  it("accepts a host name that resolves only to public addresses at save time", async () => {
    fakeDns(() => [
      { address: "93.184.215.14", family: 4 },
      { address: "2606:2800:21f:cb07:6820:80da:af6b:8b2c", family: 6 },
    ]);
    expect(await egress.assertSafeUrl("https://login.example.com/oauth2/token")).toBeNull();
  });

  it("reports a host name that does not resolve", async () => {
    fakeDns(() => Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.example.test"), { code: "ENOTFOUND" }));
    expect(await egress.assertSafeUrl("https://nowhere.example.test/")).toBe(
      "The host nowhere.example.test could not be found.",
    );
    const err = await egressErrorOf(egress.egressFetch("https://nowhere.example.test/", { method: "GET" }));
    expect(err).toMatchObject({ code: "network", message: "The host nowhere.example.test could not be found." });
  });

  it("counts a slow resolver against the total timeout", async () => {
    vi.spyOn(dns.promises, "lookup").mockImplementation(
      (() => new Promise(() => {})) as unknown as typeof dns.promises.lookup,
    );
    const started = Date.now();
    const err = await egressErrorOf(
      egress.egressFetch("https://slow-dns.example.test/", { method: "GET", timeoutMs: 300 }),
    );
    expect(err.code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("rejects programming errors outright", async () => {
    await expect(egress.egressFetch("https://a.example.com/", { method: "GET", body: "x" })).rejects.toThrow(TypeError);
    await expect(egress.egressFetch("https://a.example.com/", { method: "PUT" as "GET" })).rejects.toThrow(TypeError);
    await expect(egress.egressFetch("https://a.example.com/", { method: "GET", timeoutMs: 0 })).rejects.toThrow(
      TypeError,
    );
  });
});

describe("test-only loopback allowance", () => {
  let egress: EgressModule;
  let server: TestServer;
  beforeAll(async () => {
    egress = await loadEgress(true);
    server = await startServer((req, res) => {
      if (req.url === "/redirect") {
        res.writeHead(302, { location: `http://127.0.0.1:${(req.socket.localPort ?? 0).toString()}/target` });
        return res.end("moved");
      }
      if (req.url === "/error") {
        res.writeHead(500, { "content-type": "text/plain" });
        return res.end("upstream exploded");
      }
      const seen = server.seen.at(-1);
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
      res.end(JSON.stringify({ method: req.method, body: seen?.body ?? null, path: req.url, jp: "日本語" }));
    });
  });
  afterAll(() => server.close());

  it("reaches a loopback server over http by IP", async () => {
    const r = await egress.egressFetch(`http://127.0.0.1:${server.port}/ok?a=1`, { method: "GET" });
    expect(r.status).toBe(200);
    expect(r.url).toBe(`http://127.0.0.1:${server.port}/ok?a=1`);
    expect(r.headers.get("x-upstream")).toBe("yes");
    expect(JSON.parse(r.text)).toEqual({ method: "GET", body: "", path: "/ok?a=1", jp: "日本語" });
    expect(await egress.assertSafeUrl(`http://127.0.0.1:${server.port}/`)).toBeNull();
  });

  it("reaches it by the name localhost and keeps Host = the name", async () => {
    const before = server.seen.length;
    const r = await egress.egressFetch(`http://localhost:${server.port}/named`, { method: "GET" });
    expect(r.status).toBe(200);
    expect(server.seen[before]?.host).toBe(`localhost:${server.port}`);
    expect(await egress.assertSafeUrl(`http://localhost:${server.port}/`)).toBeNull();
  });

  it("POSTs the body with a computed Content-Length and refuses to let callers override framing headers", async () => {
    const before = server.seen.length;
    const body = "grant_type=client_credentials&client_secret=%C3%A9%26%3D";
    const r = await egress.egressFetch(`http://127.0.0.1:${server.port}/token`, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/x-www-form-urlencoded", Host: "evil.example", "Content-Length": "1" },
    });
    expect(r.status).toBe(200);
    const seen = server.seen[before]!;
    expect(seen.method).toBe("POST");
    expect(seen.body).toBe(body);
    expect(seen.host).toBe(`127.0.0.1:${server.port}`);
    expect(seen.headers["content-length"]).toBe(String(Buffer.byteLength(body)));
    expect(seen.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  it("keeps connections alive per host and vetted address: sequential requests share one socket", async () => {
    const fresh = await startServer((_req, res) => res.end("{}"));
    try {
      for (let i = 0; i < 5; i++) {
        const r = await egress.egressFetch(`http://127.0.0.1:${fresh.port}/token`, { method: "POST", body: `n=${i}` });
        expect(r.status).toBe(200);
      }
      expect(fresh.seen.map((s) => s.body)).toEqual(["n=0", "n=1", "n=2", "n=3", "n=4"]);
      expect(fresh.connections()).toBe(1);
      // another host name for the same server is another agent: a socket is only reused for what it was vetted for
      await egress.egressFetch(`http://localhost:${fresh.port}/token`, { method: "POST", body: "n=5" });
      expect(fresh.connections()).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it("a socket the server closed while idle is not reused: the next request opens a new one", async () => {
    const closing = await startServer((_req, res) => {
      res.writeHead(200, { connection: "close", "content-type": "application/json" });
      res.end("{}");
    });
    try {
      for (let i = 0; i < 3; i++)
        expect((await egress.egressFetch(`http://127.0.0.1:${closing.port}/`, { method: "GET" })).status).toBe(200);
      expect(closing.connections()).toBe(3);
    } finally {
      await closing.close();
    }
  });

  it("connects to the vetted address, not to a second DNS answer (rebinding)", async () => {
    // An OS resolver cannot resolve this name: reaching the server proves the pinned lookup was used.
    const resolver = fakeDns((host, call) =>
      host === "rebind.example.test"
        ? [{ address: call === 0 ? "127.0.0.1" : "10.0.0.1", family: 4 }]
        : new Error("unexpected"),
    );
    const before = server.seen.length;
    const r = await egress.egressFetch(`http://rebind.example.test:${server.port}/pinned`, { method: "GET" });
    expect(r.status).toBe(200);
    expect(resolver.calls()).toBe(1);
    expect(server.seen[before]).toMatchObject({ url: "/pinned", host: `rebind.example.test:${server.port}` });
  });

  it("returns a redirect as is and never follows it", async () => {
    const before = server.seen.length;
    const r = await egress.egressFetch(`http://127.0.0.1:${server.port}/redirect`, {
      method: "POST",
      body: "code=abc",
    });
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe(`http://127.0.0.1:${server.port}/target`);
    expect(r.text).toBe("moved");
    await new Promise((res) => setTimeout(res, 100));
    expect(server.seen.slice(before).map((s) => s.url)).toEqual(["/redirect"]);
  });

  it("returns an error status as a response, not as an exception", async () => {
    const r = await egress.egressFetch(`http://127.0.0.1:${server.port}/error`, { method: "GET" });
    expect(r.status).toBe(500);
    expect(r.text).toBe("upstream exploded");
  });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/",
    "http://[::ffff:169.254.169.254]/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[::127.0.0.1]/", // IPv4-compatible: loopback only as ::1 or 127/8
    "http://[64:ff9b::127.0.0.1]/",
    "http://[2001:0:7f00:1::]/",
    "http://metadata.google.internal/",
  ])("still refuses %s", async (url) => {
    fakeDns(() => new Error("the resolver must not be asked"));
    expect(await egress.assertSafeUrl(url)).toMatch(/public internet/);
    const err = await egressErrorOf(egress.egressFetch(url, { method: "GET" }));
    expect(err.code).toBe("blocked_address");
  });

  it("still refuses a name resolving to the metadata address", async () => {
    fakeDns(() => [{ address: "169.254.169.254", family: 4 }]);
    const err = await egressErrorOf(egress.egressFetch("http://metadata.example.test/", { method: "GET" }));
    expect(err.code).toBe("blocked_address");
    expect(await egress.assertSafeUrl("http://metadata.example.test/")).toContain("link-local");
  });

  it("still refuses other schemes and userinfo", async () => {
    for (const url of ["ftp://127.0.0.1/", "file:///etc/passwd", `http://u:p@127.0.0.1:${server.port}/`]) {
      expect((await egressErrorOf(egress.egressFetch(url, { method: "GET" }))).code, url).toBe("invalid_url");
    }
  });

  it("reaches IPv6 loopback [::1] when the host has it", async (ctx) => {
    let v6: TestServer;
    try {
      v6 = await startServer((_req, res) => res.end("v6"), { host: "::1" });
    } catch {
      ctx.skip();
      return;
    }
    try {
      const r = await egress.egressFetch(`http://[::1]:${v6.port}/`, { method: "GET" });
      expect(r.text).toBe("v6");
      expect(v6.seen[0]?.host).toBe(`[::1]:${v6.port}`);
    } finally {
      await v6.close();
    }
  });

  describe("limits", () => {
    const timers: NodeJS.Timeout[] = [];
    afterAll(() => timers.forEach(clearInterval));

    it("times out on a server that trickles its body (total timeout, not idle)", async () => {
      const s = await startServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("{");
        const t = setInterval(() => res.write(" "), 50);
        timers.push(t);
        res.on("close", () => clearInterval(t));
      });
      try {
        const started = Date.now();
        const err = await egressErrorOf(
          egress.egressFetch(`http://127.0.0.1:${s.port}/`, { method: "GET", timeoutMs: 500 }),
        );
        const elapsed = Date.now() - started;
        expect(err.code).toBe("timeout");
        expect(err.message).toBe("127.0.0.1 did not answer within 0.5 seconds.");
        expect(elapsed).toBeGreaterThanOrEqual(450);
        expect(elapsed).toBeLessThan(3000);
      } finally {
        await s.close();
      }
    });

    it("times out on a server that never answers", async () => {
      const s = await startServer(() => {});
      try {
        const err = await egressErrorOf(
          egress.egressFetch(`http://127.0.0.1:${s.port}/`, { method: "POST", body: "a=b", timeoutMs: 300 }),
        );
        expect(err.code).toBe("timeout");
      } finally {
        await s.close();
      }
    });

    it("refuses a body larger than maxBytes (declared length) without showing it", async () => {
      const big = `SECRET-UPSTREAM-${"x".repeat(300 * 1024)}`;
      const s = await startServer((_req, res) => {
        res.writeHead(200, { "content-length": String(Buffer.byteLength(big)) });
        res.end(big);
      });
      try {
        const err = await egressErrorOf(egress.egressFetch(`http://127.0.0.1:${s.port}/`, { method: "GET" }));
        expect(err.code).toBe("too_large");
        expect(err.message).toBe(`The response from 127.0.0.1 is larger than ${256 * 1024} bytes.`);
        expect(err.message).not.toContain("SECRET");
      } finally {
        await s.close();
      }
    });

    it("refuses a chunked body that grows past maxBytes", async () => {
      let written = 0;
      const s = await startServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" }); // chunked, no length
        const chunk = "y".repeat(1024);
        const pump = () => {
          while (written < 10 * 1024 * 1024) {
            written += chunk.length;
            if (!res.write(chunk)) return res.once("drain", pump);
          }
          res.end();
        };
        res.on("close", () => (written = Infinity));
        pump();
      });
      try {
        const err = await egressErrorOf(
          egress.egressFetch(`http://127.0.0.1:${s.port}/`, { method: "GET", maxBytes: 4096 }),
        );
        expect(err.code).toBe("too_large");
        expect(err.message).toContain("4096 bytes");
      } finally {
        await s.close();
      }
    });

    it("accepts a body of exactly maxBytes", async () => {
      const s = await startServer((_req, res) => res.end("z".repeat(4096)));
      try {
        const r = await egress.egressFetch(`http://127.0.0.1:${s.port}/`, { method: "GET", maxBytes: 4096 });
        expect(r.text).toHaveLength(4096);
      } finally {
        await s.close();
      }
    });

    it("reports a connection that closes mid-body as a network error", async () => {
      const s = await startServer((req, res) => {
        res.writeHead(200, { "content-length": "1000" });
        res.write("partial");
        setTimeout(() => req.socket.destroy(), 20);
      });
      try {
        const err = await egressErrorOf(egress.egressFetch(`http://127.0.0.1:${s.port}/`, { method: "GET" }));
        expect(err.code).toBe("network");
        expect(err.message).not.toContain("partial");
      } finally {
        await s.close();
      }
    });

    it("reports a refused connection as a network error", async () => {
      const s = await startServer(() => {});
      const port = s.port;
      await s.close();
      const err = await egressErrorOf(egress.egressFetch(`http://127.0.0.1:${port}/`, { method: "GET" }));
      expect(err).toMatchObject({ code: "network", message: "The request to 127.0.0.1 failed (ECONNREFUSED)." });
    });

    it("verifies TLS certificates (an untrusted self-signed certificate fails)", async () => {
      const { certificatePem, privateKeyPem } = await generateSelfSignedCertificate({ commonName: "localhost" });
      const s = await startServer((_req, res) => res.end("SECRET-TLS-BODY"), {
        tls: { cert: certificatePem, key: privateKeyPem },
      });
      try {
        const err = await egressErrorOf(egress.egressFetch(`https://localhost:${s.port}/`, { method: "GET" }));
        expect(err.code).toBe("network");
        expect(err.message).toMatch(/^The request to localhost failed \([A-Z_]+\)\.$/);
        expect(s.seen).toHaveLength(0);
      } finally {
        await s.close();
      }
    });
  });
});
