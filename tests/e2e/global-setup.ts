// Starts one production server per database on an empty data folder, reads the administrator's
// one-time password from its console (as a first-time user would), and stops them afterwards.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Client } from "pg";
import { PG_DATABASE, ROOT, SERVERS, STATE_FILE, TMP } from "./servers";

async function pgAdmin(sql: string) {
  const c = new Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres" });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function start(env: Record<string, string>, logFile: string): Promise<{ child: ChildProcess; password: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, "node_modules", ".bin", "tsx"), ["lib/cli/start.ts"], {
      cwd: ROOT,
      env: { ...process.env, ...env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = fs.createWriteStream(logFile);
    let out = "";
    let password = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 120 s; see ${logFile}`)), 120_000);
    const onData = (d: Buffer) => {
      log.write(d);
      out += d.toString();
      password ||= /Password: (\S+)/.exec(out)?.[1] ?? "";
      if (out.includes("Consentry is listening")) {
        clearTimeout(timer);
        if (!password) reject(new Error("the first start printed no administrator password"));
        else resolve({ child, password });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}; see ${logFile}`)));
  });
}

export default async function globalSetup() {
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) throw new Error("No production build: run `npm run build` first (npm test does).");
  fs.mkdirSync(TMP, { recursive: true });
  await pgAdmin(`DROP DATABASE IF EXISTS "${PG_DATABASE}" WITH (FORCE)`);
  await pgAdmin(`CREATE DATABASE "${PG_DATABASE}"`);
  const children: ChildProcess[] = [];
  const state: Record<string, { url: string; adminPassword: string }> = {};
  try {
    for (const s of SERVERS) {
      fs.rmSync(s.env.CONSENTRY_DATA_DIR!, { recursive: true, force: true });
      const { child, password } = await start(s.env, path.join(TMP, `e2e-server-${s.kind}.log`));
      children.push(child);
      state[s.kind] = { url: s.url, adminPassword: password };
    }
  } catch (e) {
    for (const c of children) c.kill("SIGTERM");
    throw e;
  }
  fs.writeFileSync(STATE_FILE, JSON.stringify(state));
  return async () => {
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await pgAdmin(`DROP DATABASE IF EXISTS "${PG_DATABASE}" WITH (FORCE)`).catch(() => {});
  };
}
