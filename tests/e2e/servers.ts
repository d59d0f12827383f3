// The two servers the browser tests run against, and helpers to reach their CLI.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");
export const TMP = path.join(ROOT, "tests", ".tmp");
export const STATE_FILE = path.join(TMP, "e2e-servers.json");
// Set once in the main Playwright process; workers inherit it.
process.env.E2E_RUN_ID ??= `${process.pid}`;
const PG_DB = `e2e_consentry_${process.env.E2E_RUN_ID}`;

export type Kind = "sqlite" | "postgresql";
export const SERVERS: Array<{ kind: Kind; port: number; url: string; env: Record<string, string> }> = [
  {
    kind: "sqlite",
    port: 47311,
    url: "http://127.0.0.1:47311",
    env: { CONSENTRY_DATA_DIR: path.join(TMP, "e2e-sqlite"), PORT: "47311", CONSENTRY_URL: "http://127.0.0.1:47311" },
  },
  {
    kind: "postgresql",
    port: 47312,
    url: "http://127.0.0.1:47312",
    env: {
      CONSENTRY_DATA_DIR: path.join(TMP, "e2e-postgresql"),
      PORT: "47312",
      CONSENTRY_URL: "http://127.0.0.1:47312",
      DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${PG_DB}`,
      AUTH_SECRET: "e2e-auth-secret-0123456789abcdefghijklmnopqrstuvwxyz",
      CONSENTRY_ENCRYPTION_KEYS: "e2e:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
      // PostgreSQL is "production": password sign-in and demo data must be switched on explicitly.
      CONSENTRY_LOCAL_LOGIN: "true",
      CONSENTRY_DEMO_DATA: "true",
    },
  },
];
export const PG_DATABASE = PG_DB;

/** Consentry's one callback, as registered at every emulator for both servers. */
export const callbackUrlOf = (serverUrl: string, providerId: string) => `${serverUrl}/api/oauth/callback/${providerId}`;

/** A provider that echoes the next request it gets (at its token endpoint, or at `path`): POST /fault. */
export interface FaultRequest {
  emulator: "azure" | "oidc" | "webex";
  /** where the echo goes (tests/fixtures/http-emulator.ts faults.echo), or "error-cut": `error` holds the credentials and body, cut to 200 characters */
  echo: "error" | "error_description" | "json" | "html" | "error-cut";
  status?: number;
  /** Microsoft's error_codes beside an "error-cut" echo, e.g. [7000215] */
  errorCodes?: number[];
  /** with echo "error_description": the OAuth error beside the echoed description, e.g. "invalid_client" for an operator alert */
  error?: string;
  path?: string;
}

/** A request an emulator answered with a fault, as GET /echoed?emulator=… returns it: the values a spec checks pages for. */
export interface EchoedRequest {
  url: string;
  authorization: string | null;
  form: Record<string, string>;
  query: Record<string, string>;
}

/** The provider emulators started by global setup (in Playwright's main process), as the specs see them. */
export interface EmulatorState {
  /**
   * the main process's control endpoint: POST /azure/sign-in (sticks), /webex/next-sign-in,
   * /oidc/next-interaction (one-shot), /fault (one-shot); GET /echoed?emulator=…
   */
  control: string;
  azure: {
    url: string;
    clientId: string;
    clientSecret: string;
    tenant: { tid: string; name: string; adminName: string; adminUpn: string };
  };
  oidc: {
    url: string;
    authorizationUrl: string;
    tokenUrl: string;
    userinfoUrl: string;
    clientId: string;
    clientSecret: string;
  };
  webex: { url: string; clientId: string; clientSecret: string; redirectUri: string; displayName: string };
}

type StateFile = Record<Kind, { url: string; adminPassword: string }> & { emulators: EmulatorState };

function readState(): StateFile {
  return JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) as StateFile;
}

export function serverState(kind: Kind): { url: string; adminPassword: string } {
  return readState()[kind];
}

export function emulatorState(): EmulatorState {
  return readState().emulators;
}

/**
 * Tells an emulator (living in the main process) how sign-ins go: `/azure/sign-in` sets the Azure AD
 * emulator's default sign-in ({ tid, decision }) until changed; the others queue one sign-in.
 */
export async function controlEmulator(
  path: "/azure/sign-in" | "/webex/next-sign-in" | "/oidc/next-interaction" | "/fault",
  body: unknown,
): Promise<void> {
  const res = await fetch(`${emulatorState().control}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`emulator control ${path}: HTTP ${res.status} ${await res.text()}`);
}

/** Every request an emulator has answered with a fault so far (both servers' projects share the emulators). */
export async function echoedRequests(emulator: FaultRequest["emulator"]): Promise<EchoedRequest[]> {
  const res = await fetch(`${emulatorState().control}/echoed?emulator=${emulator}`);
  if (!res.ok) throw new Error(`emulator control /echoed: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as EchoedRequest[];
}

export function serverFor(projectName: string) {
  const s = SERVERS.find((x) => x.kind === projectName);
  if (!s) throw new Error(`unknown project ${projectName}`);
  return s;
}

/** Runs `npm run cli -- …` against a test server's database; returns stdout. */
export function cli(kind: Kind, args: string[]): string {
  const s = SERVERS.find((x) => x.kind === kind)!;
  return execFileSync(path.join(ROOT, "node_modules", ".bin", "tsx"), ["lib/cli/main.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...s.env, LOG_LEVEL: "warn" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** `cli` without blocking: independent commands can run side by side (each start costs seconds). */
export function cliAsync(kind: Kind, args: string[]): Promise<string> {
  const s = SERVERS.find((x) => x.kind === kind)!;
  return new Promise((resolve, reject) => {
    execFile(
      path.join(ROOT, "node_modules", ".bin", "tsx"),
      ["lib/cli/main.ts", ...args],
      { cwd: ROOT, env: { ...process.env, ...s.env, LOG_LEVEL: "warn" }, encoding: "utf8" },
      (err, stdout, stderr) =>
        err ? reject(new Error(`cli ${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout.trim()),
    );
  });
}
