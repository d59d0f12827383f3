// No input gets a 5xx (issue 15): thousands of random and malformed requests, written by hand on raw
// sockets, against the production server exactly as `npm start` runs it (compiled) — random methods (TRACE, CONNECT, made-up ones), the app's
// real paths with random %-escapes and control characters, huge request targets and headers, bad
// Content-Length, chunked garbage, multipart and JSON bodies (well-formed or not) to pages, route
// handlers and the API, Next-Action calls, bodies the client abandons. Not one answer may be a 5xx,
// the portal process must not restart, and afterwards the server still answers a page, its health
// check and a real API call.
//
// Replay: the seed and the status histogram are printed; CONSENTRY_FUZZ_SEED=<seed> repeats a run,
// CONSENTRY_FUZZ_ONLY=<i,j,…> sends only those requests of it; CONSENTRY_FUZZ_REQUESTS sets the count.
// SQLite only: the requests that reach a database are few and cheap, and the front process and Next
// (what this exercises) are the same on PostgreSQL, where a second server would double the time.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ROOT,
  buildCompiledServer,
  ensureProductionBuild,
  freePort,
  runCli,
  startProductionServer,
  type ServerHandle,
} from "../bench/api-server";
import { TMP_ROOT } from "../helpers/paths";

const SEED = Number(process.env.CONSENTRY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env.CONSENTRY_FUZZ_REQUESTS ?? 2000);
const ONLY = process.env.CONSENTRY_FUZZ_ONLY?.split(",").map(Number);
/** sockets in flight at once (2 cores, shared) */
const PARALLEL = 6;
/** a request still unanswered after this is counted as a timeout (the server's request timeout is 4 s here) */
const SOCKET_TIMEOUT_MS = 15_000;

/** mulberry32: small, fast, seedable */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => next() < p;
  const str = (n: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_") =>
    Array.from({ length: n }, () => alphabet[int(alphabet.length)]).join("");
  return { next, int, pick, chance, str };
}
type Rng = ReturnType<typeof prng>;

const UUID = "00000000-0000-4000-8000-000000000000";
const PATHS = [
  "/",
  "/sign-in",
  "/orgs",
  "/orgs/demo",
  "/orgs/demo/connections",
  "/orgs/demo/connections/new",
  `/orgs/demo/connections/${UUID}`,
  "/orgs/demo/apps",
  "/orgs/demo/apps/new",
  `/orgs/demo/apps/${UUID}`,
  "/orgs/demo/api-keys",
  "/orgs/demo/api",
  "/orgs/demo/audit",
  "/orgs/demo/settings",
  "/orgs/demo/webhooks",
  "/admin/apps",
  "/admin/apps/new",
  `/admin/apps/${UUID}`,
  "/admin/audit",
  "/admin/organizations",
  "/consent/Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXU",
  "/consent/Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXU/start",
  "/consent/result",
  "/api/health",
  "/api/auth/csrf",
  "/api/auth/session",
  "/api/auth/providers",
  "/api/auth/signin",
  "/api/auth/signout",
  "/api/auth/callback/credentials",
  "/api/auth/signin/oidc",
  "/api/oauth/callback/generic-oauth2",
  "/api/oauth/callback/microsoft",
  "/api/oauth/callback/zoho",
  "/api/cron/refresh",
  "/api/v1/providers",
  "/api/v1/connections",
  `/api/v1/connections/${UUID}`,
  `/api/v1/connections/${UUID}/token`,
  `/api/v1/connections/${UUID}/app-token`,
  `/api/v1/connections/${UUID}/consent-link`,
  `/api/v1/connections/${UUID}/test`,
  "/api/v1/openapi.json",
  "/nope",
  "/api/nope",
  "/_next/static/chunks/nope.js",
  "/favicon.ico",
];
const METHODS = ["GET", "GET", "GET", "POST", "POST", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"];
const ODD_METHODS = ["TRACE", "CONNECT", "PRI", "PROPFIND", "MKCOL", "LINK", "PURGE", "SEARCH", "FOO", "get", "G-T"];
const ESCAPES = [
  "%41",
  "%2F",
  "%2f",
  "%00",
  "%0A",
  "%7F",
  "%FF",
  "%C0%AF",
  "%E0%A4%A",
  "%E0%A4",
  "%zz",
  "%",
  "%%",
  "%2",
  "%u0041",
  "%F0%9F%98%80",
  "%ED%A0%80",
  "%25",
];
const CONTENT_TYPES = [
  "application/json",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=XyZ",
  "multipart/form-data",
  "multipart/form-data; boundary=",
  "text/plain;charset=UTF-8",
  "text/html",
  "application/octet-stream",
  "image/png",
  ";;;",
  "multipart/mixed; boundary=XyZ",
];

/** The server action ids of this build: real ones, so that a malformed body reaches Next's action decoding */
function actionIds(): string[] {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(ROOT, ".next/server/server-reference-manifest.json"), "utf8")) as {
      node: Record<string, unknown>;
    };
    return Object.keys(m.node);
  } catch {
    return [];
  }
}

function mutatePath(r: Rng, p: string): string {
  let out = p;
  const n = r.chance(0.5) ? 1 + r.int(3) : 0;
  for (let i = 0; i < n; i++) {
    const at = 1 + r.int(Math.max(1, out.length - 1));
    const what = r.pick(["escape", "escape", "escape", "char", "dots", "slash", "upper", "unicode"]);
    const ins =
      what === "escape"
        ? r.pick(ESCAPES)
        : what === "char"
          ? r.pick([
              "~",
              "!",
              "$",
              "&",
              "'",
              "(",
              "*",
              "+",
              ",",
              ";",
              "=",
              ":",
              "@",
              "[",
              "]",
              "|",
              "\\",
              "^",
              "`",
              "{",
            ])
          : what === "dots"
            ? r.pick(["/..", "/.", "/../..", "/%2e%2e"])
            : what === "slash"
              ? "/"
              : what === "unicode"
                ? r.pick(["é", "日本", "\u00a0", "\ufeff"])
                : "";
    out = what === "upper" ? out.toUpperCase() : out.slice(0, at) + ins + out.slice(at);
  }
  if (r.chance(0.1)) out += "/";
  return out;
}

function query(r: Rng): string {
  const kind = r.int(10);
  if (kind < 4) return "";
  if (kind < 6) return `?${r.str(3)}=${r.str(8)}&${r.pick(ESCAPES)}=${r.pick(ESCAPES)}`;
  if (kind < 7) return `?code=${r.str(30)}&state=${r.str(40)}${r.chance(0.5) ? `&error=${r.pick(ESCAPES)}` : ""}`;
  if (kind < 8)
    return `?callbackUrl=${r.pick(["https://evil.example", "//evil", "/orgs", "%2F%2Fevil", "javascript:alert(1)"])}`;
  // huge: a few KB to well past any limit
  const size = r.pick([3_000, 7_000, 9_000, 12_000, 20_000, 40_000]);
  return `?a=${"x%20y&b=".repeat(Math.ceil(size / 8)).slice(0, size)}`;
}

function multipart(r: Rng, boundary: string, ids: string[]): string {
  if (r.chance(0.3)) return `--${boundary}\r\n${r.str(20 + r.int(50))}`; // truncated / garbage
  const parts: string[] = [];
  for (let i = 0; i < 1 + r.int(4); i++) {
    const name = r.pick([
      "email",
      "password",
      "returnTo",
      "name",
      "0",
      "1",
      `$ACTION_ID_${r.str(42, "0123456789abcdef")}`,
      "$ACTION_REF_1",
      "$ACTION_1:0",
      "$ACTION_KEY",
    ]);
    parts.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${r.pick([r.str(10), '["$K1"]', "[]", "{", ids[0] ?? "x"])}\r\n`,
    );
  }
  return parts.join("") + (r.chance(0.8) ? `--${boundary}--\r\n` : "");
}

function body(r: Rng, type: string, ids: string[]): string {
  if (type.startsWith("multipart")) return multipart(r, /boundary=(\S*)/.exec(type)?.[1] || "XyZ", ids);
  return r.pick([
    "",
    "{}",
    '{"min_validity":60}',
    "{",
    "[]",
    '["$K1"]',
    "null",
    "a=b&c=%zz",
    "csrfToken=x&email=a%40b.c&password=p",
    r.str(200, "\x00\x01\x7f\xff{}[]\"'%&=abc"),
    "x".repeat(70_000),
  ]);
}

type Plan = {
  /** bytes written at once */
  data: Buffer;
  /** close our side right after writing (a body cut short, a half-open socket) */
  end?: "destroy" | "half-close";
};

/** Request i of the run with seed `seed`: the same pair always gives the same request. */
function plan(seed: number, i: number, ids: string[]): Plan {
  const r = prng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const special = r.int(100);
  if (special < 3) return { data: Buffer.from(r.str(10 + r.int(300), "\x00\x01\r\n :/%GETPOSTHTP1.\xff")) }; // garbage
  if (special < 5)
    return { data: Buffer.from(`GET ${r.pick(PATHS)} HTTP/${r.pick(["1.0", "2.0", "9.9", "1"])}\r\nHost: x\r\n\r\n`) };
  if (special < 6) return { data: Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") };
  if (special < 7) return { data: Buffer.from(`CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n`) };
  if (special < 8)
    return { data: Buffer.from(`${r.pick(["OPTIONS", "GET"])} * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`) };
  if (special < 9)
    return {
      data: Buffer.from(`GET http://evil.example${r.pick(PATHS)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    };

  const method = r.chance(0.12) ? r.pick(ODD_METHODS) : r.pick(METHODS);
  let target = mutatePath(r, r.pick(PATHS)) + query(r);
  if (r.chance(0.02)) target += "\x01"; // a raw control character
  const headers: string[] = [
    r.chance(0.95) ? `Host: ${r.pick(["127.0.0.1", "localhost:3000", "evil.example", ""])}` : "",
  ];
  if (r.chance(0.15)) headers.push(`X-Big: ${"h".repeat(r.pick([4_000, 12_000, 17_000, 40_000]))}`);
  if (r.chance(0.05)) for (let k = 0; k < 150; k++) headers.push(`X-H${k}: ${r.str(20)}`);
  if (r.chance(0.1))
    headers.push(`Cookie: ${r.pick(["authjs.session-token=" + r.str(100), "a=%zz; b", "\u00ff=\u00ff"])}`);
  if (r.chance(0.1)) headers.push(`Origin: ${r.pick(["null", "http://evil.example", "http://127.0.0.1", "::"])}`);
  if (r.chance(0.05)) headers.push("Expect: 100-continue");
  if (r.chance(0.03)) headers.push("Upgrade: websocket", "Connection: Upgrade");
  if (r.chance(0.05)) headers.push(`Authorization: ${r.pick(["Bearer csk_" + r.str(43), "Basic %%%", "Bearer"])}`);
  if (r.chance(0.03)) headers.push(`Bad Header: ${r.str(5)}`);
  if (r.chance(0.02)) headers.push(`X-Ctl: a\x01b`);

  const withBody = method !== "GET" && method !== "HEAD" ? r.chance(0.85) : r.chance(0.1);
  const type = r.pick(CONTENT_TYPES);
  let payload = "";
  if (withBody) {
    if (r.chance(0.9)) headers.push(`Content-Type: ${type}`);
    if (r.chance(0.35) && ids.length && method === "POST")
      headers.push(`Next-Action: ${r.chance(0.6) ? r.pick(ids) : r.str(42, "0123456789abcdef")}`);
    else if (r.chance(0.1)) headers.push(`Next-Action: ${r.pick(["", "x", "%zz", r.str(42)])}`);
    payload = body(r, type, ids);
  }
  const framing = r.int(20);
  let data: string;
  let end: Plan["end"];
  const len = Buffer.byteLength(payload);
  if (!withBody) data = "";
  else if (framing < 12) {
    headers.push(`Content-Length: ${len}`);
    data = payload;
  } else if (framing < 15) {
    // chunked, well-formed
    headers.push("Transfer-Encoding: chunked");
    data = len ? `${len.toString(16)}\r\n${payload}\r\n0\r\n\r\n` : "0\r\n\r\n";
  } else if (framing < 16) {
    headers.push("Transfer-Encoding: chunked");
    data = r.pick([
      "zz\r\nabc\r\n0\r\n\r\n",
      "5\r\nabcdefgh\r\n",
      "-1\r\n\r\n",
      "5;x=y\r\nabcde\r\n0\r\n\r\n",
      "ffffffffffffffffff\r\n",
    ]);
  } else if (framing < 17) {
    headers.push(
      r.pick([
        "Content-Length: abc",
        "Content-Length: -1",
        "Content-Length: 1, 2",
        "Content-Length: 99999999999999999999",
      ]),
    );
    data = payload;
  } else if (framing < 18) {
    headers.push(`Content-Length: ${len}`, "Transfer-Encoding: chunked");
    data = payload;
  } else {
    // a body the client abandons part way (or stops sending while it waits for the answer)
    headers.push(`Content-Length: ${len + 1000}`);
    data = payload.slice(0, Math.floor(payload.length / 2));
    end = r.chance(0.7) ? "destroy" : "half-close";
  }
  if (r.chance(0.9)) headers.push("Connection: close");
  const head = `${method} ${target} HTTP/1.1\r\n${headers.filter(Boolean).join("\r\n")}\r\n\r\n`;
  return { data: Buffer.from(head + data, "latin1"), end };
}

type Outcome = { statuses: number[]; note?: "closed" | "timeout" | "error" };

function send(port: number, p: Plan): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let note: Outcome["note"];
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(p.data, () => {
        if (p.end === "destroy") setTimeout(() => s.destroy(), 20);
        else if (p.end === "half-close") s.end();
      });
    });
    let answered = false;
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      // the status line of a final answer is all this needs: a kept-alive connection is not waited out
      if (!answered && /(?:^|\r\n)HTTP\/1\.[01] [2-5]\d\d /.test(Buffer.concat(chunks).toString("latin1"))) {
        answered = true;
        setTimeout(() => s.destroy(), 100);
      }
    });
    s.on("error", () => (note ??= "error"));
    const t = setTimeout(() => {
      note = "timeout";
      s.destroy();
    }, SOCKET_TIMEOUT_MS);
    s.on("close", () => {
      clearTimeout(t);
      const text = Buffer.concat(chunks).toString("latin1");
      // every answer on this connection (a 100 Continue, then the real one; pipelined answers)
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)]
        .map((m) => Number(m[1]))
        .filter((s) => s >= 200);
      resolve({ statuses, note: statuses.length ? undefined : (note ?? "closed") });
    });
  });
}

/** every process of a process group (Linux /proc): pid and command line */
function processGroup(pgid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue;
      out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim() });
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

describe("the production server as `npm start` runs it (compiled)", { timeout: 15 * 60_000 }, () => {
  let buildError: string | null = null;
  let server: ServerHandle | undefined;
  let env: Record<string, string>;
  let dataDir: string | undefined;
  let base: string;

  beforeAll(async () => {
    buildError = ensureProductionBuild((s) => process.stderr.write(`${s}\n`)) ?? buildCompiledServer();
    if (buildError) return void process.stderr.write(`SKIPPING the fuzz test: ${buildError}\n`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    fs.mkdirSync(TMP_ROOT, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(TMP_ROOT, "fuzz-"));
    env = {
      PORT: String(port),
      CONSENTRY_URL: base,
      CONSENTRY_DATA_DIR: dataDir, // the embedded default, with its demo organization
      CONSENTRY_REFRESH_INTERVAL_SECONDS: "0",
      CONSENTRY_HEADERS_TIMEOUT_SECONDS: "4",
      CONSENTRY_REQUEST_TIMEOUT_SECONDS: "4",
      // the fuzz fails API authentication hundreds of times from one address; the check after it must not be locked out
      CONSENTRY_API_AUTH_FAILURES_PER_IP: "100000",
      LOG_LEVEL: "info",
    };
    server = await startProductionServer({ env, compiled: true });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it("runs as node alone (no tsx in any process), the portal without next.config.js's build plugins", async (ctx) => {
    if (buildError) return ctx.skip();
    const procs = processGroup(server!.pid);
    expect(procs.map((p) => p.cmd)).toEqual([
      expect.stringMatching(/ lib\/cli\/start\.cjs$/),
      expect.stringMatching(/\.next\/consentry\/portal-child\.js$/),
    ]);
    for (const p of procs) {
      expect(p.cmd).not.toMatch(/tsx/);
      // next-intl's plugin (wrapped around next.config.js) loads SWC and a file watcher, both native
      expect(fs.readFileSync(`/proc/${p.pid}/maps`, "utf8")).not.toMatch(/swc|watcher\.node/);
    }
    // what next.config.js says still holds: it comes from the build's serialized configuration
    const page = await fetch(`${base}/sign-in`);
    expect(page.status).toBe(200);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
  });

  it(`${COUNT} random and malformed requests on raw sockets: zero 5xx, the portal never restarts, healthy afterwards`, async (ctx) => {
    if (buildError) return ctx.skip();
    const port = Number(new URL(base).port);
    const ids = actionIds();
    const indices = ONLY ?? Array.from({ length: COUNT }, (_, i) => i);
    const histogram = new Map<string, number>();
    const failures: Array<{ i: number; statuses: number[]; request: string }> = [];
    let next = 0;
    const started = Date.now();
    const worker = async () => {
      while (next < indices.length) {
        const i = indices[next++]!;
        const p = plan(SEED, i, ids);
        const out = await send(port, p);
        for (const s of out.statuses) histogram.set(String(s), (histogram.get(String(s)) ?? 0) + 1);
        if (out.note) histogram.set(out.note, (histogram.get(out.note) ?? 0) + 1);
        if (out.statuses.some((s) => s >= 500))
          failures.push({
            i,
            statuses: out.statuses,
            request: JSON.stringify(p.data.toString("latin1").slice(0, 300)),
          });
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const sorted = [...histogram].sort(([a], [b]) => a.localeCompare(b));
    process.stderr.write(
      `[server-fuzz] seed ${SEED}: ${indices.length} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `answers ${sorted.map(([k, v]) => `${k}×${v}`).join(" ")}\n`,
    );
    for (const f of failures.slice(0, 20))
      process.stderr.write(
        `[server-fuzz] 5xx (replay: CONSENTRY_FUZZ_SEED=${SEED} CONSENTRY_FUZZ_ONLY=${f.i}): ${f.statuses.join(",")} ${f.request}\n`,
      );
    if (failures.length)
      process.stderr.write(`[server-fuzz] the server's log, last lines:\n${server!.output().slice(-6000)}\n`);
    expect(
      failures.map((f) => f.i),
      `requests answered with a 5xx (seed ${SEED})`,
    ).toEqual([]);

    // still healthy: the same portal process (it never died), a page, the health check, a real API call
    const out = server!.output();
    expect(out).not.toContain("the portal process exited");
    expect(out).not.toContain("API fast path failed");
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    expect((await fetch(`${base}/sign-in`)).status).toBe(200);
    const key = runCli(["api-key", "create", "--org", "demo", "--scopes", "connections:read"], env);
    expect(key.status, key.stderr).toBe(0);
    const providers = await fetch(`${base}/api/v1/providers`, {
      headers: { authorization: `Bearer ${key.stdout.trim()}` },
    });
    expect(providers.status).toBe(200);
    expect(((await providers.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
  });
});
