// The production server (node --import tsx lib/cli/start.ts: `npm start`'s server from the sources) as the fault suites run it: a fixed test
// keyring (so the test can seal the tokens it seeds), loopback egress to the emulators, no refresh
// timer unless asked (the test triggers runs through the cron route), and its logs at info level.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { freePort, startProductionServer, type ServerHandle } from "../bench/api-server";
import { K1 } from "./keyring";
import { TMP_ROOT } from "./paths";

export const CRON_SECRET = `cron-${crypto.randomBytes(24).toString("hex")}`;

export type FaultServerConfig = {
  /** a postgresql:// URL, or undefined for the embedded default (SQLite in the data folder) */
  databaseUrl?: string;
  /** variables on top of the defaults */
  env?: Record<string, string>;
};

export type FaultServer = {
  readonly server: ServerHandle;
  readonly url: string;
  readonly dataDir: string;
  /** the database the server uses (the embedded default's file: URL on SQLite) */
  readonly databaseUrl: string;
  readonly env: Record<string, string>;
  /** starts the server again on the same port, data folder and database (after it has exited) */
  restart(extraEnv?: Record<string, string>): Promise<void>;
  /** POST /api/cron/refresh: one refresh run, answered with its summary */
  cron(): Promise<{ status: number; body: Record<string, unknown> }>;
  /** stops it if it runs and removes the data folder */
  dispose(): Promise<void>;
};

export async function startFaultServer(config: FaultServerConfig = {}): Promise<FaultServer> {
  const port = await freePort();
  fs.mkdirSync(TMP_ROOT, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(TMP_ROOT, "fault-"));
  const env: Record<string, string> = {
    PORT: String(port),
    CONSENTRY_URL: `http://127.0.0.1:${port}`,
    CONSENTRY_DATA_DIR: dataDir,
    CONSENTRY_ENCRYPTION_KEYS: K1,
    AUTH_SECRET: crypto.randomBytes(32).toString("hex"),
    CONSENTRY_CRON_SECRET: CRON_SECRET,
    CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: "true",
    CONSENTRY_REFRESH_INTERVAL_SECONDS: "0",
    CONSENTRY_DEMO_DATA: "false",
    // the suites hammer the API on purpose
    CONSENTRY_API_RATE_PER_KEY: "1000000",
    CONSENTRY_API_RATE_PER_ORG: "1000000",
    LOG_LEVEL: "info",
    // the embedded default's journal; on PostgreSQL it is on only when set, as these suites do
    CONSENTRY_REFRESH_JOURNAL: path.join(dataDir, "journal"),
    ...(config.databaseUrl ? { DATABASE_URL: config.databaseUrl } : {}),
    ...config.env,
  };
  const databaseUrl = config.databaseUrl ?? `file:${path.join(dataDir, "consentry.db")}`;
  let server = await startProductionServer({ env });
  const url = `http://127.0.0.1:${port}`;
  return {
    get server() {
      return server;
    },
    url,
    dataDir,
    databaseUrl,
    env,
    async restart(extraEnv = {}) {
      Object.assign(env, extraEnv);
      server = await startProductionServer({ env });
    },
    async cron() {
      const res = await fetch(`${url}/api/cron/refresh`, {
        method: "POST",
        headers: { authorization: `Bearer ${CRON_SECRET}` },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async dispose() {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
