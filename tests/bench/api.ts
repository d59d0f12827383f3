// `npm run bench:api [-- --duration 20 --connections 32 --k 100]`: the REST API's hot endpoint under
// load, against its floor.
//
// `--rounds 4` (default): each server's 20 s are measured in 4 slices of 5 s, alternating Consentry and
// floor, so that drift in a shared machine's speed weighs on both alike; the slices are merged exactly.
//
// 1. Starts the production build (`node --import tsx lib/cli/start.ts`) on a fresh embedded database (a temporary
//    data folder) — or, when DATABASE_URL is set, on a fresh PostgreSQL database
//    `consentry_bench_<pid>` created through that (admin) URL and dropped afterwards.
// 2. Seeds K connections with fresh tokens (valid for hours: no refresh happens) and one API key;
//    the per-key and per-organization rate limits are lifted (CONSENTRY_API_RATE_PER_KEY/ORG).
// 3. Starts tests/bench/bare-floor.ts — a bare Node http server doing the same essential work with the
//    same lib functions on the same database.
// 4. Drives POST /api/v1/connections/{id}/token on both, rotating over the K ids, with autocannon
//    (32 connections, 20 s each after a short warm-up, in alternating rounds).
// 5. Prints req/s, p50, p99 and errors/non-2xx for both, and the ratio. Exits non-zero only on errors.
// `--redis`: a second production server on the same database shares its limits through Redis
// (CONSENTRY_REDIS_URL, default the machine's redis://127.0.0.1:6379, under a key prefix of this run's
// own, removed afterwards), as several instances would; it is measured in the same alternating rounds.
// `--metrics`: likewise a server with metrics on (CONSENTRY_METRICS_TOKEN), scraped every 5 s as
// Prometheus would, to measure what recording costs the token API against the first (metrics off).
// Targets (issue 5): ≥ 0.5× the floor, p99 ≤ 10 ms, zero errors on SQLite; ≥ 5,000 req/s on PostgreSQL.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT, childEnv, freePort, startProductionServer, type ServerHandle } from "./api-server";

/** the merged figures of several runs (autocannon.aggregateResult) */
type AutocannonResult = {
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
};
/** one run's raw figures (skipAggregateResult): histograms still encoded, for an exact merge over rounds */
type AutocannonRaw = {
  totalCompletedRequests: number;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
};
type AutocannonRequest = { method?: string; path?: string; headers?: Record<string, string>; body?: string };
// autocannon ships no types: its programmatic API is a promise-returning function with aggregateResult beside it
type Autocannon = ((opts: Record<string, unknown>) => Promise<AutocannonRaw>) & {
  aggregateResult: (results: AutocannonRaw[], opts: Record<string, unknown>) => AutocannonResult;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS module, typed just above
const autocannon = require("autocannon") as Autocannon;

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "20" },
    connections: { type: "string", default: "32" },
    k: { type: "string", default: "100" },
    warmup: { type: "string", default: "3" },
    /** the measured seconds of each server are split into this many slices, alternating between the two */
    rounds: { type: "string", default: "4" },
    /** write V8 CPU profiles of the Consentry server into this folder (and of the floor into its `floor` folder) */
    "cpu-prof": { type: "string" },
    /** only the Consentry server (no floor) */
    "server-only": { type: "boolean", default: false },
    /** also a second server that shares its limits through Redis */
    redis: { type: "boolean", default: false },
    /** also a server with metrics on (and scraped), against the first with metrics off */
    metrics: { type: "boolean", default: false },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const K = Number(args.k);
const WARMUP = Number(args.warmup);
const ROUNDS = Math.max(1, Number(args.rounds));

const log = (s: string) => process.stderr.write(`${s}\n`);
const children: Array<{ stop: () => Promise<void> }> = [];
const cleanups: Array<() => Promise<void>> = [];

async function createPgDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { default: pg } = await import("pg");
  const name = `consentry_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Node's flags for a V8 CPU profile written into `dir`, or none. */
const cpuProfArgs = (dir: string | undefined) => (dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []);

/** The floor as a child process on the same configuration; resolves with its port once it listens. */
function startBareFloor(
  env: Record<string, string | undefined>,
  cpuProf?: string,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const nodeArgs = cpuProfArgs(cpuProf && path.join(cpuProf, "floor"));
  const child = spawn(path.join(ROOT, "node_modules", ".bin", "tsx"), [...nodeArgs, "tests/bench/bare-floor.ts"], {
    cwd: ROOT,
    env: childEnv({ ...env, BENCH_FLOOR_PORT: "0" }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const stop = async () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      return;
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  };
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      const m = /\{"listening":(\d+)\}/.exec(buf);
      if (m) resolve({ port: Number(m[1]), stop });
    });
    void exited.then(() => reject(new Error(`the bare floor exited before listening: ${err.slice(-2000)}`)));
  });
}

async function drive(url: string, key: string, ids: string[], seconds: number): Promise<AutocannonRaw> {
  let i = 0;
  const paths = ids.map((id) => `/api/v1/connections/${id}/token`);
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    pipelining: 1,
    skipAggregateResult: true,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    requests: [
      {
        method: "POST",
        body: "{}",
        setupRequest: (req: AutocannonRequest) => ({ ...req, path: paths[i++ % paths.length] }),
      },
    ],
  });
}

/**
 * Each target's DURATION seconds in ROUNDS slices, alternating between the targets (A B A B …), so
 * that a machine getting busier or quieter during the run weighs on both alike. The slices are merged
 * exactly: requests summed, latency histograms added.
 */
/** CPU seconds (user + system) a process has used so far (Linux /proc; clock ticks of 10 ms). */
function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(
  /** `pid`: the server process, whose CPU time per request is reported */
  targets: Array<{ label: string; url: string; pid?: number }>,
  key: string,
  ids: string[],
): Promise<Array<{ label: string; result: AutocannonResult; reqPerSec: number; cpuUsPerRequest?: number }>> {
  const slices = targets.map(() => [] as AutocannonRaw[]);
  const cpu = targets.map(() => 0);
  for (const t of targets) {
    log(`${t.label}: warm-up ${WARMUP} s…`);
    if (WARMUP > 0) await drive(t.url, key, ids, WARMUP);
  }
  const slice = DURATION / ROUNDS;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [n, t] of targets.entries()) {
      log(
        `${t.label}: round ${r + 1}/${ROUNDS}, ${slice} s at ${CONNECTIONS} connections over ${ids.length} connections' tokens…`,
      );
      const before = t.pid ? cpuSecondsOf(t.pid) : 0;
      slices[n]!.push(await drive(t.url, key, ids, slice));
      if (t.pid) cpu[n]! += cpuSecondsOf(t.pid) - before;
    }
  }
  return targets.map((t, n) => {
    const raw = slices[n]!;
    const result = autocannon.aggregateResult(raw, { url: t.url, connections: CONNECTIONS, duration: DURATION });
    const seconds = raw.reduce((a, x) => a + x.duration, 0);
    const requests = raw.reduce((a, x) => a + x.totalCompletedRequests, 0);
    const cpuUsPerRequest = t.pid ? (cpu[n]! / requests) * 1e6 : undefined;
    return { label: t.label, result, reqPerSec: requests / seconds, cpuUsPerRequest };
  });
}

async function main() {
  const adminUrl = process.env.DATABASE_URL;
  const engine = adminUrl ? "postgresql" : "sqlite";
  fs.mkdirSync(path.join(ROOT, "tests", ".tmp"), { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(ROOT, "tests", ".tmp", `bench-api-${process.pid}-`));
  let dropDb: (() => Promise<void>) | undefined;
  let server: ServerHandle | undefined;
  try {
    const port = await freePort();
    const env: Record<string, string | undefined> = {
      PORT: String(port),
      CONSENTRY_URL: `http://127.0.0.1:${port}`,
      CONSENTRY_DATA_DIR: dataDir,
      CONSENTRY_API_RATE_PER_KEY: "100000000",
      CONSENTRY_API_RATE_PER_ORG: "100000000",
      LOG_LEVEL: "warn",
    };
    if (adminUrl) {
      const created = await createPgDatabase(adminUrl);
      dropDb = created.drop;
      Object.assign(env, {
        DATABASE_URL: created.url,
        CONSENTRY_ENCRYPTION_KEYS: `bench:${crypto.randomBytes(32).toString("base64")}`,
        AUTH_SECRET: crypto.randomBytes(32).toString("hex"),
      });
    }
    log(`Starting the production server on ${engine} (port ${port})…`);
    const cpuProf = args["cpu-prof"] ? path.resolve(args["cpu-prof"]) : undefined;
    if (cpuProf) fs.mkdirSync(cpuProf, { recursive: true });
    server = await startProductionServer({ env, nodeArgs: cpuProfArgs(cpuProf) });
    children.push(server);
    /** another production server on the same database (on the embedded default: the data folder's file), with `extra` settings */
    const startSibling = async (what: string, extra: Record<string, string>) => {
      const port = await freePort();
      log(`Starting a production server ${what} (port ${port})…`);
      const s = await startProductionServer({
        env: {
          ...env,
          PORT: String(port),
          CONSENTRY_URL: `http://127.0.0.1:${port}`,
          DATABASE_URL: env.DATABASE_URL ?? `file:${path.join(dataDir, "consentry.db")}`,
          ...extra,
        },
      });
      children.push(s);
      return s;
    };
    let withRedis: ServerHandle | undefined;
    if (args.redis) {
      const redisUrl = process.env.CONSENTRY_REDIS_URL ?? "redis://127.0.0.1:6379";
      const redisPrefix = `consentry-bench:${process.pid}:`;
      cleanups.push(async () => {
        const { removeKeys } = await import("../helpers/private-redis");
        log(`removed ${await removeKeys(redisUrl, redisPrefix)} Redis keys of the run`);
      });
      withRedis = await startSibling("sharing its limits through Redis", {
        CONSENTRY_REDIS_URL: redisUrl,
        CONSENTRY_REDIS_PREFIX: redisPrefix,
      });
    }
    let withMetrics: ServerHandle | undefined;
    if (args.metrics) {
      const token = crypto.randomBytes(24).toString("hex");
      withMetrics = await startSibling("with metrics on, scraped every 5 s,", { CONSENTRY_METRICS_TOKEN: token });
      const url = `${withMetrics.url}/api/metrics`;
      let scrapes = 0;
      const scraper = setInterval(
        () =>
          void fetch(url, { headers: { authorization: `Bearer ${token}` } })
            .then((r) => r.text().then(() => void (r.ok && scrapes++)))
            .catch(() => undefined),
        5000,
      );
      cleanups.push(async () => {
        clearInterval(scraper);
        log(`${scrapes} metrics scrapes during the run`);
      });
    }

    // this process uses lib/ on the same database and keys to seed: configure it before lib/env loads
    for (const name of ["DATABASE_URL", "CONSENTRY_DATA_DIR", "CONSENTRY_ENCRYPTION_KEYS"] as const) {
      if (env[name]) process.env[name] = env[name];
      else delete process.env[name];
    }
    process.env.LOG_LEVEL = "warn";
    const { db } = await import("@/lib/db/client");
    const { createApiKey } = await import("@/lib/api-keys/create-api-key");
    const { saveTokenSet } = await import("@/lib/tokens/save-token-set");

    log(`Seeding ${K} connections with fresh tokens and an API key…`);
    const org = await db().organization.create({ data: { slug: `bench-${process.pid}`, name: "Benchmark" } });
    const { key } = await createApiKey({
      db: db(),
      organizationId: org.id,
      input: { name: "bench", scopes: ["tokens:read"] },
      actor: { type: "system", label: "bench" },
    });
    const ids: string[] = [];
    const expiresAt = new Date(Date.now() + 6 * 3600_000);
    const expected = new Map<string, string>();
    for (let i = 0; i < K; i++) {
      const id = crypto.randomUUID();
      const accessToken = `bench-at-${i}-${crypto.randomBytes(24).toString("base64url")}`;
      await db().$transaction(async (tx) => {
        await tx.connection.create({
          data: {
            id,
            organizationId: org.id,
            providerId: "generic-oauth2",
            name: `bench ${i}`,
            status: "active",
            scopes: "openid api:read",
            settings: "{}",
            connectedAt: new Date(),
            expiresAt,
          },
        });
        await saveTokenSet({
          tx,
          organizationId: org.id,
          connectionId: id,
          data: {
            accessToken,
            refreshToken: `bench-rt-${i}`,
            idToken: null,
            tokenType: "Bearer",
            expiresAt,
            refreshTokenExpiresAt: null,
            scopes: null,
            metadata: {},
          },
        });
      });
      ids.push(id);
      expected.set(id, accessToken);
    }
    await db().$disconnect();

    const floor = args["server-only"] ? null : await startBareFloor(env, cpuProf);
    if (floor) children.push(floor);

    // both answer correctly before either is measured
    const targets: Array<[string, string]> = [["consentry", server.url]];
    if (withRedis) targets.push(["consentry with Redis", withRedis.url]);
    if (withMetrics) targets.push(["consentry with metrics", withMetrics.url]);
    if (floor) targets.push(["floor", `http://127.0.0.1:${floor.port}`]);
    for (const [label, url] of targets) {
      for (const id of [ids[0]!, ids[K - 1]!]) {
        const res = await fetch(`${url}/api/v1/connections/${id}/token`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: "{}",
        });
        const body = (await res.json()) as { access_token?: string };
        if (res.status !== 200 || body.access_token !== expected.get(id))
          throw new Error(`${label} answered ${res.status} ${JSON.stringify(body).slice(0, 200)} for ${id}`);
      }
    }

    const measured = await measure(
      [
        { label: "Consentry (production server)", url: server.url, pid: server.pid },
        ...(withRedis ? [{ label: "Consentry with Redis", url: withRedis.url }] : []),
        ...(withMetrics ? [{ label: "Consentry with metrics", url: withMetrics.url, pid: withMetrics.pid }] : []),
        ...(floor ? [{ label: "Bare Node floor", url: `http://127.0.0.1:${floor.port}` }] : []),
      ],
      key,
      ids,
    );

    const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
    const lines = [
      "",
      `POST /api/v1/connections/{id}/token — ${engine}, K=${K}, ${CONNECTIONS} connections, ${DURATION} s each in ${ROUNDS} alternating rounds (after ${WARMUP} s warm-up), ${new Date().toISOString()}`,
      `${"".padEnd(30)} ${"req/s".padStart(10)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"2xx".padStart(10)} ${"errors".padStart(7)} ${"non-2xx".padStart(8)}`,
      ...measured.map(
        ({ label, result: r, reqPerSec }) =>
          `${label.padEnd(30)} ${fmt(reqPerSec).padStart(10)} ${fmt(r.latency.p50, 1).padStart(8)} ${fmt(r.latency.p99, 1).padStart(8)} ${fmt(r.latency.max, 0).padStart(8)} ${fmt(r["2xx"]).padStart(10)} ${fmt(r.errors + r.timeouts).padStart(7)} ${fmt(r.non2xx).padStart(8)}`,
      ),
    ];
    const app = measured[0]!;
    const floorResult = measured.find((m) => m.label === "Bare Node floor");
    if (floorResult)
      for (const m of measured.filter((x) => x !== floorResult))
        lines.push(
          `ratio ${m.label.replace(" (production server)", "")} / floor: ${(m.reqPerSec / floorResult.reqPerSec).toFixed(2)}×  (target ≥ 0.50×)`,
        );
    const metricsOn = measured.find((m) => m.label === "Consentry with metrics");
    if (metricsOn)
      lines.push(
        `metrics on / off: ${(metricsOn.reqPerSec / app.reqPerSec).toFixed(3)}× req/s  (target ≥ 0.95×: recording costs ≤ 5%)`,
        `server process CPU per request: ${app.cpuUsPerRequest!.toFixed(0)} µs off, ${metricsOn.cpuUsPerRequest!.toFixed(0)} µs on (${((metricsOn.cpuUsPerRequest! / app.cpuUsPerRequest! - 1) * 100).toFixed(1)}%)`,
      );
    lines.push(
      engine === "sqlite"
        ? `p99 target ≤ 10 ms: ${app.result.latency.p99 <= 10 ? "met" : "NOT met"}`
        : `PostgreSQL target ≥ 5,000 req/s: ${app.reqPerSec >= 5000 ? "met" : "NOT met"}`,
    );
    process.stdout.write(lines.join("\n") + "\n");
    const failures = measured.reduce((n, { result: r }) => n + r.errors + r.timeouts + r.non2xx, 0);
    if (failures > 0) {
      process.stdout.write(`${failures} errors/timeouts/non-2xx answers\n`);
      process.exitCode = 1;
    }
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await dropDb?.().catch((e: Error) => log(`could not drop the bench database: ${e.message}`));
    for (const c of cleanups) await c().catch((e: Error) => log(`cleanup failed: ${e.message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:api failed: ${err.stack ?? err.message}\n`);
  for (const c of children) void c.stop().catch(() => undefined);
  process.exit(1);
});
