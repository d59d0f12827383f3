// The refresh floor (a benchmark script, spawned by tests/bench/refresh.ts): only the essential work of
// a refresh, in bare Node, against the same authorization server and the same database as the real
// engine in the same run. Per connection: read its sealed refresh token, AES-256-GCM decrypt, one
// keep-alive HTTP refresh request, AES-256-GCM encrypt of the new tokens, and one row update, written
// in transactions of 200. No leases, no version check, no audit, no classification: what no refresh
// engine can go below on this machine, so the engine's figure reads as a ratio of it.
//
//   tsx tests/bench/refresh-floor.ts <json: { databaseUrl, tokenUrl, key (base64), concurrency, pages }>
//
// Prints one JSON line: { event: "result", refreshed, failed, wallMs, maxRssKb }.
import crypto from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";

type Args = { databaseUrl: string; tokenUrl: string; key: string; concurrency: number; page: number };
type Row = { id: string; rt: string };
type Done = { id: string; at: string; rt: string };

export const FLOOR_TABLE = "bench_floor";

export function seal(key: Buffer, plain: string): string {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([c.update(plain, "utf8"), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString("base64");
}

function open(key: Buffer, sealed: string): string {
  const b = Buffer.from(sealed, "base64");
  const d = crypto.createDecipheriv("aes-256-gcm", key, b.subarray(0, 12));
  d.setAuthTag(b.subarray(12, 28));
  return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString("utf8");
}

interface Store {
  page(afterId: string, limit: number): Promise<Row[]>;
  /** one transaction of updates */
  write(done: Done[]): Promise<void>;
  close(): Promise<void>;
}

async function sqliteStore(file: string): Promise<Store> {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 10000");
  const select = db.prepare(`SELECT id, rt FROM ${FLOOR_TABLE} WHERE id > ? ORDER BY id LIMIT ?`);
  const update = db.prepare(`UPDATE ${FLOOR_TABLE} SET at = ?, rt = ?, version = version + 1 WHERE id = ?`);
  const tx = db.transaction((done: Done[]) => {
    for (const d of done) update.run(d.at, d.rt, d.id);
  });
  return {
    page: async (afterId, limit) => select.all(afterId, limit) as Row[],
    write: async (done) => void tx(done),
    close: async () => void db.close(),
  };
}

async function postgresStore(url: string): Promise<Store> {
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return {
    page: async (afterId, limit) =>
      (await pool.query<Row>(`SELECT id, rt FROM ${FLOOR_TABLE} WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]))
        .rows,
    write: async (done) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        for (const d of done)
          await client.query({
            name: "floor-update",
            text: `UPDATE ${FLOOR_TABLE} SET at = $1, rt = $2, version = version + 1 WHERE id = $3`,
            values: [d.at, d.rt, d.id],
          });
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

function refreshRequest(agent: http.Agent, url: URL, refreshToken: string) {
  const body = new URLSearchParams({
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: "bench-client",
    client_secret: "bench-secret",
  }).toString();
  return new Promise<{ access_token: string; refresh_token: string }>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`token endpoint answered ${res.statusCode}`));
          resolve(
            JSON.parse(Buffer.concat(chunks).toString("utf8")) as { access_token: string; refresh_token: string },
          );
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function run(a: Args) {
  const key = Buffer.from(a.key, "base64");
  const store = a.databaseUrl.startsWith("file:")
    ? await sqliteStore(a.databaseUrl.slice("file:".length))
    : await postgresStore(a.databaseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: a.concurrency });
  const url = new URL(a.tokenUrl);
  let refreshed = 0;
  let failed = 0;
  const started = performance.now();
  // rows stream in pages of `page`; `concurrency` runners pull from them; every `page` results are one transaction
  let rows: Row[] = [];
  let after = "";
  let exhausted = false;
  let fetching: Promise<void> | null = null;
  const nextRow = async (): Promise<Row | undefined> => {
    while (rows.length === 0 && !exhausted) {
      fetching ??= store.page(after, a.page).then((r) => {
        if (r.length === 0) exhausted = true;
        else after = r[r.length - 1]!.id;
        rows = rows.concat(r);
        fetching = null;
      });
      await fetching;
    }
    return rows.shift();
  };
  let done: Done[] = [];
  let writes = Promise.resolve();
  const flush = () => {
    const batch = done;
    done = [];
    refreshed += batch.length;
    writes = writes.then(() => store.write(batch));
  };
  await Promise.all(
    Array.from({ length: a.concurrency }, async () => {
      for (let row = await nextRow(); row; row = await nextRow()) {
        try {
          const t = await refreshRequest(agent, url, open(key, row.rt));
          done.push({ id: row.id, at: seal(key, t.access_token), rt: seal(key, t.refresh_token) });
          if (done.length >= a.page) flush();
        } catch {
          failed++;
        }
      }
    }),
  );
  flush();
  await writes;
  const wallMs = performance.now() - started;
  agent.destroy();
  await store.close();
  process.stdout.write(
    `${JSON.stringify({ event: "result", refreshed, failed, wallMs, maxRssKb: process.resourceUsage().maxRSS })}\n`,
  );
}

if (process.argv[2]?.startsWith("{")) {
  run(JSON.parse(process.argv[2]) as Args).catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
