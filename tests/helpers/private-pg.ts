// A throwaway PostgreSQL server of the test's own, for outage tests: the shared server on 5432 is
// never stopped (other suites use it). initdb refuses root, so the data folder belongs to `postgres`
// and every server command runs as that user. Trust authentication on 127.0.0.1, a free port, the
// socket in the data folder. `stop()` and `start()` play the outage; `destroy()` removes everything.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";

const BIN = fs.existsSync("/usr/lib/postgresql")
  ? path.join("/usr/lib/postgresql", fs.readdirSync("/usr/lib/postgresql").sort().at(-1)!, "bin")
  : "";

export type PrivatePg = {
  port: number;
  /** postgresql://postgres@127.0.0.1:<port>/<database> */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  /** `pg_ctl stop -m immediate`: every connection drops at once, as when a database server dies */
  stop(): void;
  start(): void;
  destroy(): void;
};

/** Why a private server cannot run here, or null when it can. */
export function privatePgUnavailable(): string | null {
  if (!BIN || !fs.existsSync(path.join(BIN, "initdb")))
    return "PostgreSQL server binaries (initdb, pg_ctl) are not installed";
  try {
    execFileSync("id", ["postgres"], { stdio: "ignore" });
  } catch {
    return "there is no `postgres` system user to run a private server as";
  }
  return null;
}

const asPostgres = (cmd: string, args: string[]) =>
  execFileSync(
    process.getuid?.() === 0 ? "runuser" : path.join(BIN, cmd),
    process.getuid?.() === 0 ? ["-u", "postgres", "--", path.join(BIN, cmd), ...args] : args,
    {
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
    },
  );

export async function startPrivatePg(port: number): Promise<PrivatePg> {
  // outside the repository: the postgres user must be able to reach it, and /tmp is open to all
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-pg-"));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  fs.mkdirSync(data);
  if (process.getuid?.() === 0) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  asPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const log = path.join(dir, "server.log");
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = () => void asPostgres("pg_ctl", ["-D", data, "-l", log, "-o", opts, "-w", "-t", "60", "start"]);
  const stop = () => void asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
  start();
  const urlFor = (database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    urlFor,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: urlFor("postgres") });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await c.end();
      }
    },
    stop,
    start,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
