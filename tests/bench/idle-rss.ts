// `npm run bench:rss [-- --idle 30 --rounds 3 --via npm|source]`: the resident memory of the production
// server's whole process group after ordinary use, on the embedded default (SQLite in a temporary data folder).
//
// 1. Starts the server as a user does: `npm start` in its own process group (`--via source`: the
//    TypeScript sources through tsx, `node --import tsx lib/cli/start.ts`, as the test suites run it).
// 2. Ordinary use, `--rounds` times: the sign-in page; the administrator signs in (Auth.js credentials);
//    every portal page of the demo organization and the staff pages; the REST API with a key made by the
//    CLI (providers, list, create a connection, its consent page, token calls, a missing connection).
// 3. Waits `--idle` seconds, then prints every process of the group (pid, parent, RSS, PSS, command)
//    and the totals. Figures only: nothing here passes or fails on a threshold.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT, childEnv, freePort, runCli, stopProcessGroup } from "./api-server";

const { values: args } = parseArgs({
  options: {
    idle: { type: "string", default: "30" },
    rounds: { type: "string", default: "3" },
    via: { type: "string", default: "npm" },
    /** extra environment for the server (KEY=VALUE, repeatable), e.g. to try NODE_OPTIONS */
    env: { type: "string", multiple: true, default: [] },
  },
});

type Proc = { pid: number; ppid: number; rssKb: number; pssKb: number | null; cmd: string };

/** every live process whose process group is `pgid` (Linux /proc) */
function processGroup(pgid: number): Proc[] {
  const out: Proc[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      const status = fs.readFileSync(`/proc/${d}/status`, "utf8");
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      let pssKb: number | null = null;
      try {
        pssKb = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${d}/smaps_rollup`, "utf8"))?.[1] ?? NaN);
      } catch {
        // no smaps_rollup on this kernel
      }
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim();
      out.push({ pid: Number(d), ppid: Number(fields[1]), rssKb, pssKb, cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** a cookie jar just good enough for Auth.js: name=value pairs, later ones replace earlier ones */
class Jar {
  private readonly cookies = new Map<string, string>();
  store(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

async function waitHealthy(base: string, exited: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error("the server exited before it was ready");
    const ok = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the server was not ready within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** one round of what a person and a downstream job do; returns the statuses seen */
async function ordinaryUse(base: string, password: string, apiKey: string): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  const count = (r: Response) => seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
  const get = async (p: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${base}${p}`, { headers, redirect: "manual" });
    await r.arrayBuffer();
    count(r);
    return r;
  };
  // a person: the sign-in page, then signs in with the administrator's password
  const jar = new Jar();
  await get("/sign-in");
  const csrf = await fetch(`${base}/api/auth/csrf`);
  jar.store(csrf);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const signIn = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
    body: new URLSearchParams({ csrfToken, email: "admin@consentry.local", password, callbackUrl: base }).toString(),
  });
  await signIn.arrayBuffer();
  count(signIn);
  jar.store(signIn);
  const page = (p: string) => get(p, { cookie: jar.header(), accept: "text/html" });
  for (const p of ["/", "/orgs", "/orgs/demo", "/orgs/demo/connections", "/orgs/demo/connections/new"]) await page(p);
  for (const p of ["apps", "apps/new", "api-keys", "api", "audit", "settings", "webhooks"])
    await page(`/orgs/demo/${p}`);
  for (const p of ["/admin/organizations", "/admin/apps", "/admin/audit"]) await page(p);

  // a downstream job: the REST API with a key
  const auth = { authorization: `Bearer ${apiKey}` };
  await get("/api/v1/providers", auth);
  await get("/api/v1/connections", auth);
  const created = await fetch(`${base}/api/v1/connections`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({
      provider: "generic-oauth2",
      name: `bench ${Date.now()}`,
      settings: {
        authorization_url: "http://127.0.0.1:9/authorize",
        token_url: "http://127.0.0.1:9/token",
        client_auth: "client_secret_post",
      },
      oauth_app: { client_id: "bench", client_secret: "bench-secret" },
    }),
  });
  count(created);
  const c = (await created.json()) as { connection?: { id: string }; consent_url?: string };
  if (created.status !== 201)
    process.stderr.write(`POST /api/v1/connections: ${created.status} ${JSON.stringify(c)}\n`);
  if (c.consent_url) await get(new URL(c.consent_url).pathname);
  if (c.connection) {
    await page(`/orgs/demo/connections/${c.connection.id}`);
    await get(`/api/v1/connections/${c.connection.id}`, auth);
    // token calls: this connection has no consent yet (409), a missing one is 404
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${base}/api/v1/connections/${c.connection.id}/token`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ min_validity: 60 }),
      });
      await r.arrayBuffer();
      count(r);
    }
  }
  await get("/api/v1/connections/00000000-0000-4000-8000-000000000000", auth);
  await get("/api/v1/openapi.json");
  await get("/api/health");
  return seen;
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-rss-"));
  const env = {
    PORT: String(port),
    CONSENTRY_URL: base,
    CONSENTRY_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    // the connection this creates points at a local address that nothing answers (nothing is fetched)
    CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: "true",
    ...Object.fromEntries(args.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
  };
  const [cmd, argv] =
    args.via === "source"
      ? [process.execPath, ["--import", "tsx", "lib/cli/start.ts"]]
      : ["npm", ["start", "--silent"]];
  const child = spawn(cmd, argv, { cwd: ROOT, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
  let exited = false;
  const gone = new Promise<void>((r) => child.on("exit", () => r(void (exited = true))));
  const stop = () => stopProcessGroup(child.pid!, gone, 30_000);
  try {
    // a fresh clone builds first: up to a few minutes
    await waitHealthy(base, () => exited, 15 * 60_000).catch((err: Error) => {
      throw new Error(`${err.message}:\n${out.slice(-4000)}`);
    });
    const password = /Password:\s+(\S+)/.exec(out)?.[1];
    if (!password) throw new Error(`no administrator password in the first-start notice:\n${out.slice(-2000)}`);
    const cli = runCli(
      ["api-key", "create", "--org", "demo", "--scopes", "connections:read,connections:write,tokens:read"],
      env,
    );
    if (cli.status !== 0) throw new Error(`api-key create failed: ${cli.stderr}`);
    const rounds = Number(args.rounds);
    const statuses = new Map<number, number>();
    for (let i = 0; i < rounds; i++)
      for (const [s, n] of await ordinaryUse(base, password, cli.stdout.trim()))
        statuses.set(s, (statuses.get(s) ?? 0) + n);
    const busy = processGroup(child.pid!);
    process.stdout.write(
      `ordinary use: ${rounds} rounds, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}\n`,
    );
    const idle = Number(args.idle);
    process.stdout.write(`idle for ${idle} s…\n`);
    await new Promise((r) => setTimeout(r, idle * 1000));
    const procs = processGroup(child.pid!);
    const mb = (kb: number) => (kb / 1024).toFixed(0).padStart(5);
    process.stdout.write(
      `\nprocess group of \`${[cmd === process.execPath ? "node" : cmd, ...argv].join(" ")}\` (${base}):\n`,
    );
    process.stdout.write(
      `${"pid".padStart(8)} ${"ppid".padStart(8)}  RSS MB  PSS MB  (RSS right after use)  command\n`,
    );
    for (const p of procs) {
      const before = busy.find((b) => b.pid === p.pid);
      process.stdout.write(
        `${String(p.pid).padStart(8)} ${String(p.ppid).padStart(8)}   ${mb(p.rssKb)}   ${p.pssKb === null ? "    -" : mb(p.pssKb)}  (${before ? mb(before.rssKb) : "    -"})               ${p.cmd.slice(0, 110)}\n`,
      );
    }
    const total = procs.reduce((s, p) => s + p.rssKb, 0);
    const pss = procs.reduce((s, p) => s + (p.pssKb ?? 0), 0);
    process.stdout.write(`${"total".padStart(17)}   ${mb(total)}   ${mb(pss)}\n`);
  } finally {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
