// `npm run bench:proxy [-- --n 2000 --concurrency 16]`: the provider proxy against a direct call, in one
// run. An API server on loopback answers a 1 KiB JSON body; the same requests go to it directly (a
// keep-alive http.Agent, as a job holding the token would call) and through handleProxyRequest in process
// (API-key check, rate limits, connection read, token decrypt, egress guard, streaming with masking,
// audit). Prints requests/s and p50/p99 for both, and the overhead per call. Then a 20 MB answer is
// streamed through the proxy while RSS is sampled (`--mb 20`): the peak growth shows it is not held in memory.
// On a fresh, migrated SQLite database in tests/.tmp.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { ROOT } from "./api-server";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "16" },
    mb: { type: "string", default: "20" },
  },
});
const N = Number(args.n);
const CONC = Number(args.concurrency);
const MB = 1024 * 1024;
/** the size of the large answer */
const BIG = Number(args.mb) * MB;
const BODY = JSON.stringify({
  results: Array.from({ length: 12 }, (_, i) => ({ id: i, name: `item ${i}`, tag: "x".repeat(40) })),
});

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function run(label: string, once: () => Promise<void>) {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next < N) {
        next++;
        const t = performance.now();
        await once();
        times.push(performance.now() - t);
      }
    }),
  );
  const wall = performance.now() - started;
  times.sort((a, b) => a - b);
  const r = { label, rps: (N / wall) * 1000, p50: pct(times, 50), p99: pct(times, 99) };
  console.log(
    `${label.padEnd(22)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`,
  );
  return r;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(ROOT, "tests", ".tmp", "proxy-bench-"));
  process.env.CONSENTRY_DATA_DIR = dir;
  process.env.CONSENTRY_API_RATE_PER_KEY = "1000000000";
  process.env.CONSENTRY_API_RATE_PER_ORG = "1000000000";
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
  process.env.LOG_LEVEL = "warn";
  process.env.DATABASE_URL = `file:${path.join(dir, "consentry.db")}`;
  process.env.CONSENTRY_ENCRYPTION_KEYS ??= `bench:${crypto.randomBytes(32).toString("base64")}`;

  const upstream = http.createServer((req, res) => {
    if (req.url?.startsWith("/v1/big")) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(BIG) });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < BIG) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      return pump();
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(BODY)) });
    res.end(BODY);
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  try {
    const { env } = await import("@/lib/env");
    const { applyMigrations } = await import("@/lib/db/migrations");
    const { db } = await import("@/lib/db/client");
    const { createApiKey } = await import("@/lib/api-keys/create-api-key");
    const { saveTokenSet } = await import("@/lib/tokens/save-token-set");
    const { handleProxyRequest } = await import("@/lib/proxy/proxy-request");
    const { flushAuditBuffer } = await import("@/lib/audit/audit-buffer");
    await applyMigrations({ databaseUrl: env().databaseUrl, dataDir: dir, root: ROOT });
    await db().$queryRawUnsafe("PRAGMA journal_mode=WAL");
    const org = await db().organization.create({ data: { slug: `proxy-${process.pid}`, name: "Proxy bench" } });
    const { key } = await createApiKey({
      db: db(),
      organizationId: org.id,
      input: { name: "bench", scopes: ["proxy"] },
      actor: { type: "system" },
    });
    const id = crypto.randomUUID();
    const expiresAt = new Date(Date.now() + 6 * 3600_000);
    const token = `at-${crypto.randomBytes(24).toString("base64url")}`;
    await db().$transaction(async (tx) => {
      await tx.connection.create({
        data: {
          id,
          organizationId: org.id,
          providerId: "generic-oauth2",
          name: "bench",
          status: "active",
          settings: JSON.stringify({ api_base_url: `${base}/v1` }),
          expiresAt,
        },
      });
      await saveTokenSet({
        tx,
        organizationId: org.id,
        connectionId: id,
        data: {
          accessToken: token,
          refreshToken: null,
          idToken: null,
          tokenType: "Bearer",
          expiresAt,
          refreshTokenExpiresAt: null,
          scopes: null,
          metadata: {},
        },
      });
    });

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONC });
    const direct = () =>
      new Promise<void>((resolve, reject) => {
        const req = http.get(
          `${base}/v1/items?limit=10`,
          { agent, headers: { authorization: `Bearer ${token}` } },
          (res) => {
            res.resume();
            res.on("end", resolve);
          },
        );
        req.on("error", reject);
      });
    const headers: Array<[string, string]> = [["authorization", `Bearer ${key}`]];
    const viaProxy = async () => {
      const out = await handleProxyRequest(db(), {
        method: "GET",
        target: `/api/v1/connections/${id}/proxy/items?limit=10`,
        headers,
        body: null,
        ip: "127.0.0.1",
      });
      if (out.status !== 200 || typeof out.body === "string") throw new Error(`proxy answered ${out.status}`);
      for await (const _ of out.body) void _;
    };

    // warm both paths (agents, prepared statements, JIT)
    for (let i = 0; i < 200; i++) await Promise.all([direct(), viaProxy()]);
    console.log(`${N} GETs of a ${Buffer.byteLength(BODY)}-byte JSON answer, concurrency ${CONC}, loopback`);
    const d = await run("direct (the floor)", direct);
    const p = await run("through the proxy", viaProxy);
    console.log(
      `overhead: ${(p.p50 - d.p50).toFixed(2)} ms at p50, ${(1000 / p.rps - 1000 / d.rps).toFixed(3)} ms of wall time per call; proxy/direct throughput ${(p.rps / d.rps).toFixed(2)}×`,
    );
    await flushAuditBuffer();

    // the large answer through the proxy, RSS sampled every 5 ms
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const t0 = performance.now();
    const out = await handleProxyRequest(db(), {
      method: "GET",
      target: `/api/v1/connections/${id}/proxy/big`,
      headers,
      body: null,
      ip: "127.0.0.1",
    });
    if (typeof out.body === "string") throw new Error(`the large answer was refused: ${out.body}`);
    let bytes = 0;
    for await (const chunk of out.body as AsyncIterable<Buffer>) bytes += chunk.length;
    clearInterval(sampler);
    console.log(
      `${args.mb} MB answer: ${(bytes / MB).toFixed(1)} MB streamed in ${(performance.now() - t0).toFixed(0)} ms; RSS before ${(before / MB).toFixed(0)} MB, peak growth ${((peak - before) / MB).toFixed(1)} MB`,
    );
    agent.destroy();
    await db().$disconnect();
  } finally {
    upstream.closeAllConnections();
    upstream.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
