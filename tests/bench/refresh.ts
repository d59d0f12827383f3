// Refresh benchmark (a script, not a test): N connections, all due, refreshed by M worker processes
// running the background refresh (refreshDue, the work behind POST /api/cron/refresh) concurrently on
// one database, against a local authorization server that rotates refresh tokens and counts every
// refresh token it is shown, so a duplicate refresh request is caught.
//
//   npm run bench:refresh -- [--n 10000] [--workers 2] [--concurrency 8] [--batch 200] [--latency-ms 0] [--keep]
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npm run bench:refresh -- --n 2000
//
// SQLite (default): a fresh file under tests/.tmp/bench. PostgreSQL: DATABASE_URL names a server and a
// database to connect to for administration; the benchmark creates its own scratch database there
// and drops it afterwards (unless --keep). Prints refreshes/s, p50/p99 refresh latency (measured in
// the engine: row claimed → tokens committed, lease released), peak RSS per worker, and the
// duplicate refresh requests seen by the server (must be 0), then the floor measured in the same run
// (tests/bench/refresh-floor.ts) and the ratio, then a one-line JSON summary. Exits 1
// if any connection was not refreshed exactly once or a duplicate was seen.
//
// The workers reach the local server through the test-only loopback allowance
// (CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS); nothing else about the refresh path is changed.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { performance } from "node:perf_hooks";

const ROOT = path.resolve(__dirname, "..", "..");

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${raw}`);
  return n;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : NaN;

// ---------------------------------------------------------------------------------------------
// Worker process: refreshDue until nothing is due, timing each refresh through a query extension.

async function worker() {
  const { createDb } = await import("@/lib/db/client");
  const { refreshDue } = await import("@/lib/tokens/refresh-due");
  const base = createDb(process.env.DATABASE_URL!);
  const latencies: number[] = [];
  // BENCH_COUNT_QUERIES=1: count the Prisma operations of the run by model and action (diagnosis; it costs time)
  const queries = new Map<string, number>();
  const db = process.env.BENCH_COUNT_QUERIES
    ? (base.$extends({
        query: {
          async $allOperations({ model, operation, args, query }) {
            const k = `${model ?? "$"}.${operation}`;
            queries.set(k, (queries.get(k) ?? 0) + 1);
            return query(args);
          },
        },
      }) as unknown as typeof base)
    : base;

  await base.connection.count();
  process.stdout.write(`${JSON.stringify({ event: "ready", pid: process.pid })}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.setEncoding("utf8");
    let buf = "";
    process.stdin.on("data", (d: string) => ((buf += d), buf.includes("go\n") && resolve()));
  });
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
  const batchSize = Number(process.env.BENCH_BATCH ?? 200);
  const totals = {
    calls: 0,
    due: 0,
    claimed: 0,
    refreshed: 0,
    skipped: 0,
    busy: 0,
    failed: {} as Record<string, number>,
  };
  const started = performance.now();
  let idle = 0;
  // until two calls in a row find nothing left (the other workers may still be finishing rows)
  while (idle < 2) {
    const s = await refreshDue({ db, concurrency, batchSize, latencies });
    totals.calls++;
    totals.due += s.due;
    totals.claimed += s.claimed;
    totals.refreshed += s.refreshed;
    totals.skipped += s.skipped;
    totals.busy += s.busy;
    for (const [k, v] of Object.entries(s.failed)) totals.failed[k] = (totals.failed[k] ?? 0) + v;
    idle = s.due === 0 ? idle + 1 : 0;
    if (s.due === 0) await new Promise((r) => setTimeout(r, 100));
  }
  const wallMs = performance.now() - started;
  await base.$disconnect();
  process.stdout.write(
    `${JSON.stringify({ event: "result", pid: process.pid, wallMs, totals, latencies, queries: Object.fromEntries(queries), maxRssKb: process.resourceUsage().maxRSS })}\n`,
  );
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The authorization server: rotating refresh tokens, every presented token remembered.

function startTokenServer(latencyMs: number) {
  const valid = new Set<string>();
  const seen = new Set<string>();
  const stats = { requests: 0, refreshed: 0, duplicates: 0, unknown: 0, badClient: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      stats.requests++;
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const answer = (status: number, body: object) => {
        const send = () => {
          res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
          res.end(JSON.stringify(body));
        };
        if (latencyMs > 0) setTimeout(send, latencyMs);
        else send();
      };
      if (req.url !== "/token" || form.get("grant_type") !== "refresh_token")
        return answer(400, { error: "unsupported_grant_type" });
      if (form.get("client_id") !== "bench-client" || form.get("client_secret") !== "bench-secret") {
        stats.badClient++;
        return answer(401, { error: "invalid_client" });
      }
      const rt = form.get("refresh_token") ?? "";
      if (seen.has(rt)) {
        stats.duplicates++;
        return answer(400, { error: "invalid_grant", error_description: "refresh token already used" });
      }
      seen.add(rt);
      if (!valid.delete(rt)) {
        stats.unknown++;
        return answer(400, { error: "invalid_grant", error_description: "unknown refresh token" });
      }
      const next = `rt_${crypto.randomBytes(18).toString("base64url")}`;
      valid.add(next);
      stats.refreshed++;
      answer(200, {
        access_token: `at_${crypto.randomBytes(24).toString("base64url")}`,
        token_type: "Bearer",
        expires_in: 3600,
        refresh_token: next,
      });
    });
  });
  return new Promise<{ url: string; valid: Set<string>; stats: typeof stats; close: () => Promise<void> }>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        valid,
        stats,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// The floor: its own table in the same database, its own sealed tokens registered at the same server.

async function runFloor({
  db,
  as,
  n,
  databaseUrl,
  concurrency,
  page,
}: {
  db: { $executeRawUnsafe: (sql: string, ...values: unknown[]) => Promise<number> };
  as: { url: string; valid: Set<string> };
  n: number;
  databaseUrl: string;
  concurrency: number;
  page: number;
}): Promise<{ refreshed: number; failed: number; wallMs: number; maxRssKb: number }> {
  const { FLOOR_TABLE, seal } = await import("./refresh-floor");
  const key = crypto.randomBytes(32);
  await db.$executeRawUnsafe(`DROP TABLE IF EXISTS ${FLOOR_TABLE}`);
  await db.$executeRawUnsafe(
    `CREATE TABLE ${FLOOR_TABLE} (id TEXT PRIMARY KEY, rt TEXT NOT NULL, at TEXT, version INTEGER NOT NULL DEFAULT 1)`,
  );
  const pgStyle = !databaseUrl.startsWith("file:");
  for (let i = 0; i < n; i += 500) {
    const k = Math.min(500, n - i);
    const values: string[] = [];
    const params: string[] = [];
    for (let j = 0; j < k; j++) {
      const rt = `rt_floor_${crypto.randomBytes(12).toString("base64url")}`;
      as.valid.add(rt);
      params.push(`f${String(i + j).padStart(8, "0")}`, seal(key, rt));
      values.push(pgStyle ? `($${2 * j + 1}, $${2 * j + 2})` : "(?, ?)");
    }
    await db.$executeRawUnsafe(`INSERT INTO ${FLOOR_TABLE} (id, rt) VALUES ${values.join(", ")}`, ...params);
  }
  const args = { databaseUrl, tokenUrl: `${as.url}/token`, key: key.toString("base64"), concurrency, page };
  const child = spawn(
    path.join(ROOT, "node_modules", ".bin", "tsx"),
    [path.join(__dirname, "refresh-floor.ts"), JSON.stringify(args)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NODE_ENV: "production" } },
  );
  let out = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  const line = out.split("\n").find((l) => l.includes('"result"'));
  if (code !== 0 || !line) throw new Error(`the floor script exited with ${code}`);
  await db.$executeRawUnsafe(`DROP TABLE IF EXISTS ${FLOOR_TABLE}`);
  return JSON.parse(line) as { refreshed: number; failed: number; wallMs: number; maxRssKb: number };
}

// ---------------------------------------------------------------------------------------------
// Main process

async function main() {
  const n = Math.floor(arg("n", 10_000));
  const workers = Math.max(1, Math.floor(arg("workers", 2)));
  const concurrency = Math.max(1, Math.floor(arg("concurrency", 8)));
  const batch = Math.max(1, Math.floor(arg("batch", 200)));
  const latencyMs = arg("latency-ms", 0);
  const keep = flag("keep");
  const given = process.env.DATABASE_URL;
  const pg = Boolean(given && /^postgres(ql)?:\/\//.test(given));
  const tag = `${process.pid}_${crypto.randomBytes(3).toString("hex")}`;

  // Configuration for this process and the workers, set before lib/env is first read.
  const keyLine = `bench:${crypto.randomBytes(32).toString("base64")}`;
  let databaseUrl: string;
  let cleanup: () => Promise<void>;
  const pgAdmin = await import("pg");
  if (pg) {
    const admin = new URL(given!);
    const name = `consentry_bench_${tag}`;
    const client = new pgAdmin.default.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`CREATE DATABASE "${name}"`);
    await client.end();
    const u = new URL(given!);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    cleanup = async () => {
      if (keep) return void console.log(`kept ${databaseUrl}`);
      const c = new pgAdmin.default.Client({ connectionString: admin.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    };
  } else {
    const dir = path.join(ROOT, "tests", ".tmp", "bench");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `bench_${tag}.db`);
    databaseUrl = `file:${file}`;
    cleanup = async () => {
      if (keep) return void console.log(`kept ${databaseUrl}`);
      for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
    };
  }
  process.env.DATABASE_URL = databaseUrl;
  process.env.CONSENTRY_ENCRYPTION_KEYS = keyLine;
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
  process.env.LOG_LEVEL ??= "error";

  try {
    const t0 = performance.now();
    const { applyMigrations } = await import("@/lib/db/migrations");
    await applyMigrations({ databaseUrl, dataDir: path.join(ROOT, "tests", ".tmp", "bench"), root: ROOT });
    const { createDb } = await import("@/lib/db/client");
    const { saveOAuthApp } = await import("@/lib/oauth-apps/save-oauth-app");
    const { sealToken } = await import("@/lib/tokens/token-secrets");
    const db = createDb(databaseUrl);
    // what bootstrap does on the embedded default
    if (!pg) await db.$queryRawUnsafe("PRAGMA journal_mode=WAL");
    const migratedMs = performance.now() - t0;

    const as = await startTokenServer(latencyMs);
    const org = await db.organization.create({ data: { slug: `bench-${tag}`.replace(/_/g, "-"), name: "Benchmark" } });
    const actor = { type: "system", label: "bench" } as const;
    const app = await saveOAuthApp({
      db,
      organizationId: org.id,
      actor,
      input: { providerId: "generic-oauth2", name: "bench", clientId: "bench-client", clientSecret: "bench-secret" },
    });
    const settings = JSON.stringify({
      authorization_url: `${as.url}/authorize`,
      token_url: `${as.url}/token`,
      client_auth: "client_secret_post",
      use_pkce: true,
    });
    const now = Date.now();
    const CHUNK = 500;
    for (let i = 0; i < n; i += CHUNK) {
      const ids = Array.from({ length: Math.min(CHUNK, n - i) }, () => crypto.randomUUID());
      await db.connection.createMany({
        data: ids.map((id, k) => ({
          id,
          organizationId: org.id,
          providerId: "generic-oauth2",
          oauthAppId: app.id,
          name: `bench ${i + k}`,
          settings,
          status: "active",
          connectedAt: new Date(now - 3600_000),
          lastRefreshedAt: new Date(now - 3000_000),
          expiresAt: new Date(now + 120_000), // inside the refresh window: due
          nextRefreshAt: new Date(now - 60_000 + ((i + k) % 1000)),
        })),
      });
      await db.tokenSet.createMany({
        data: ids.map((connectionId) => {
          const rt = `rt_seed_${crypto.randomBytes(12).toString("base64url")}`;
          as.valid.add(rt);
          const owner = { organizationId: org.id, connectionId };
          return {
            organizationId: org.id,
            connectionId,
            accessTokenEnc: sealToken(owner, "accessTokenEnc", `at_seed_${connectionId}`),
            refreshTokenEnc: sealToken(owner, "refreshTokenEnc", rt),
            tokenType: "Bearer",
          };
        }),
      });
    }
    const seededMs = performance.now() - t0 - migratedMs;
    console.log(
      `${pg ? "PostgreSQL" : "SQLite"}: migrated in ${(migratedMs / 1000).toFixed(1)} s, seeded ${n} due connections in ${(seededMs / 1000).toFixed(1)} s; ${workers} worker(s), concurrency ${concurrency} each, batch ${batch}, AS latency ${latencyMs} ms`,
    );

    // The workers: the same script, worker role, the app's configuration in their environment.
    const children = Array.from({ length: workers }, () =>
      spawn(
        path.join(ROOT, "node_modules", ".bin", "tsx"),
        [...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []), __filename, "--worker"],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            DATABASE_URL: databaseUrl,
            BENCH_CONCURRENCY: String(concurrency),
            BENCH_BATCH: String(batch),
            NODE_ENV: "production",
          },
          stdio: ["pipe", "pipe", "inherit"],
        },
      ),
    );
    const messages = children.map((c) => {
      const queue: Array<Record<string, unknown>> = [];
      const waiters: Array<(m: Record<string, unknown>) => void> = [];
      let buf = "";
      c.stdout.setEncoding("utf8");
      c.stdout.on("data", (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line.startsWith("{")) continue;
          const m = JSON.parse(line) as Record<string, unknown>;
          const w = waiters.shift();
          if (w) w(m);
          else queue.push(m);
        }
      });
      const exited = new Promise<never>((_, reject) =>
        c.on("exit", (code) => reject(new Error(`worker ${c.pid} exited with ${code} before reporting`))),
      );
      exited.catch(() => {});
      return {
        next: () =>
          Promise.race([
            new Promise<Record<string, unknown>>((r) => (queue.length ? r(queue.shift()!) : waiters.push(r))),
            exited,
          ]),
      };
    });
    await Promise.all(messages.map((m) => m.next()));
    const go = performance.now();
    for (const c of children) c.stdin.write("go\n");
    const results = (await Promise.all(messages.map((m) => m.next()))) as Array<{
      pid: number;
      wallMs: number;
      totals: {
        calls: number;
        due: number;
        claimed: number;
        refreshed: number;
        skipped: number;
        busy: number;
        failed: Record<string, number>;
      };
      latencies: number[];
      queries: Record<string, number>;
      maxRssKb: number;
    }>;
    const wallMs = performance.now() - go;

    // Check the outcome in the database: every connection refreshed exactly once.
    const since = new Date(now);
    const refreshedRows = await db.connection.count({
      where: { organizationId: org.id, lastRefreshedAt: { gte: since }, status: "active" },
    });
    const versions = await db.tokenSet.groupBy({
      by: ["version"],
      where: { organizationId: org.id },
      _count: { _all: true },
    });
    const notOnce = versions.filter((v) => v.version !== 2).reduce((s, v) => s + v._count._all, 0);
    const engineStats = { ...as.stats };

    // The floor, in the same run, against the same server and database (tests/bench/refresh-floor.ts).
    const floor = await runFloor({ db, as, n, databaseUrl, concurrency: workers * concurrency, page: 200 });
    await db.$disconnect();
    await as.close();

    const lat = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const failed = results.reduce((s, r) => s + Object.values(r.totals.failed).reduce((a, b) => a + b, 0), 0);
    const summary = {
      db: pg ? "postgresql" : "sqlite",
      n,
      workers,
      concurrency,
      wall_s: Number((wallMs / 1000).toFixed(2)),
      refreshes_per_s: Number((engineStats.refreshed / (wallMs / 1000)).toFixed(1)),
      p50_ms: Number(percentile(lat, 50).toFixed(1)),
      p99_ms: Number(percentile(lat, 99).toFixed(1)),
      peak_rss_mb: results.map((r) => Number((r.maxRssKb / 1024).toFixed(0))),
      per_worker_refreshed: results.map((r) => r.totals.refreshed),
      server_requests: engineStats.requests,
      server_refreshes: engineStats.refreshed,
      duplicate_refresh_requests: engineStats.duplicates,
      // a second refresh of a connection with its new refresh token: wasteful, and a sign of a race
      extra_refreshes: engineStats.refreshed - n,
      unknown_refresh_tokens: engineStats.unknown,
      failed,
      busy: results.reduce((s, r) => s + r.totals.busy, 0),
      rows_refreshed: refreshedRows,
      rows_not_refreshed_exactly_once: notOnce,
    };
    console.log(
      `refreshed ${engineStats.refreshed}/${n} in ${summary.wall_s} s → ${summary.refreshes_per_s} refreshes/s`,
    );
    console.log(
      `refresh latency (row claimed → tokens committed, lease released, ${lat.length} samples): p50 ${summary.p50_ms} ms, p99 ${summary.p99_ms} ms`,
    );
    if (process.env.BENCH_COUNT_QUERIES)
      for (const r of results) console.log(`Prisma operations of one worker: ${JSON.stringify(r.queries)}`);
    console.log(
      `peak RSS per worker: ${summary.peak_rss_mb.map((m) => `${m} MB`).join(", ")}; refreshes per worker: ${summary.per_worker_refreshed.join(", ")}; lease busy ${summary.busy}`,
    );
    console.log(
      `token server: ${engineStats.requests} requests, duplicate refresh requests ${engineStats.duplicates} (must be 0), extra refreshes ${summary.extra_refreshes} (must be 0), unknown tokens ${engineStats.unknown}, failed refreshes ${failed}`,
    );
    const floorPerS = floor.refreshed / (floor.wallMs / 1000);
    console.log(
      `floor (bare Node: keep-alive HTTP refresh + AES-GCM decrypt/encrypt + one row update, transactions of 200, concurrency ${workers * concurrency}): ${floor.refreshed}/${n} in ${(floor.wallMs / 1000).toFixed(2)} s → ${floorPerS.toFixed(1)} refreshes/s, peak RSS ${(floor.maxRssKb / 1024).toFixed(0)} MB, failed ${floor.failed}`,
    );
    console.log(`engine / floor: ${(summary.refreshes_per_s / floorPerS).toFixed(2)}×`);
    Object.assign(summary, {
      floor_refreshes_per_s: Number(floorPerS.toFixed(1)),
      ratio_to_floor: Number((summary.refreshes_per_s / floorPerS).toFixed(2)),
    });
    console.log(JSON.stringify(summary));
    const ok =
      engineStats.duplicates === 0 &&
      engineStats.unknown === 0 &&
      failed === 0 &&
      engineStats.refreshed === n &&
      refreshedRows === n &&
      notOnce === 0;
    if (!ok)
      console.error("FAILED: every connection must be refreshed exactly once, with no duplicate refresh request");
    process.exitCode = ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

if (process.argv.includes("--worker")) {
  worker().catch((e) => {
    const meta = (e as { code?: string; meta?: unknown }).meta;
    process.stderr.write(
      `${(e as Error).stack ?? String(e)}\n${meta ? `${(e as { code?: string }).code} ${JSON.stringify(meta)}\n` : ""}`,
    );
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
