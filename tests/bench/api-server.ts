// The production server (`node --import tsx lib/cli/start.ts`: what `npm start` runs compiled, from the sources) as a child process, and the CLI
// beside it: used by the REST API benchmark (tests/bench/api.ts) and the end-to-end API test
// (tests/integration/api-e2e-server.test.ts). No test framework imports here.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The environment every child gets: nothing of the parent's but PATH and HOME, plus `extra`. */
export function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    LOG_LEVEL: "warn",
  };
  return Object.fromEntries(
    Object.entries({ ...base, ...extra }).filter(([, v]) => v !== undefined),
  ) as NodeJS.ProcessEnv;
}

export function hasProductionBuild(): boolean {
  return fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"));
}

/** `next build` once when there is no production build; returns an error message when it fails. */
export function ensureProductionBuild(log: (s: string) => void = () => {}): string | null {
  if (hasProductionBuild()) return null;
  log("No production build (.next/BUILD_ID): running `npx next build` once…");
  const r = spawnSync("npx", ["next", "build"], {
    cwd: ROOT,
    env: childEnv({ NODE_ENV: "production" }),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 15 * 60_000,
  });
  if (r.status !== 0 || !hasProductionBuild())
    return `next build failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || "").slice(-3000)}`;
  return null;
}

export type ServerHandle = {
  url: string;
  port: number;
  pid: number;
  /** everything the server wrote (stdout + stderr) */
  output(): string;
  /** SIGTERM to the server's process group, SIGKILL after 8 s; resolves once it has exited */
  stop(): Promise<void>;
  /** a signal to the whole process group (the tsx wrapper, the server, the portal child), e.g. SIGKILL */
  signal(signal: NodeJS.Signals): void;
  /** resolves when the process group's leader has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** SIGTERM to a detached child's whole process group, SIGKILL if it has not exited within `graceMs`. */
export async function stopProcessGroup(pid: number, exited: Promise<unknown>, graceMs: number): Promise<void> {
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    return; // gone already
  }
  const t = setTimeout(() => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }, graceMs);
  await exited;
  clearTimeout(t);
}

/**
 * Starts `node --import tsx lib/cli/start.ts` (or, `compiled`, `node lib/cli/start.cjs`) in its own process group and
 * waits until GET /api/health answers 200.
 * `env` must carry PORT and CONSENTRY_URL (and CONSENTRY_DATA_DIR / DATABASE_URL as needed).
 */
export async function startProductionServer({
  env,
  readyTimeoutMs = 120_000,
  nodeArgs,
  compiled = false,
}: {
  env: Record<string, string | undefined>;
  readyTimeoutMs?: number;
  nodeArgs?: string[];
  /** the compiled server, exactly as `npm start` runs it (node lib/cli/start.cjs; see buildCompiledServer) */
  compiled?: boolean;
}): Promise<ServerHandle> {
  const port = Number(env.PORT);
  const url = env.CONSENTRY_URL ?? `http://127.0.0.1:${port}`;
  // `node [flags] --import tsx`: the server itself leads the process group (no tsx wrapper in between that
  // would relay signals on its own terms), and node flags such as --cpu-prof work
  const entry = compiled ? ["lib/cli/start.cjs"] : ["--import", "tsx", "lib/cli/start.ts"];
  const [cmd, argv] = [process.execPath, [...(nodeArgs ?? []), ...entry]];
  const child: ChildProcess = spawn(cmd, argv, {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: stop() ends the tsx wrapper and the server it runs, nothing else
  });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out = (out + d).slice(-5_000_000)));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out = (out + d).slice(-5_000_000)));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitInfo = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => r((exited = { code, signal }))),
  );
  const exit = exitInfo.then(() => undefined);

  const stop = async () => {
    if (exited) return;
    await stopProcessGroup(child.pid!, exit, 8000);
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited)
      throw new Error(`the server exited (${JSON.stringify(exited)}) before it was ready:\n${out.slice(-4000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server did not become ready within ${readyTimeoutMs} ms:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // gone
    }
  };
  return { url, port, pid: child.pid!, output: () => out, stop, signal, exited: exitInfo };
}

/** The server compiled as `npm run build` compiles it (lib/cli/build-server.ts, a few seconds); returns an error message when it fails. */
export function buildCompiledServer(): string | null {
  const r = spawnSync(TSX, ["lib/cli/build-server.ts"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return r.status === 0 ? null : `lib/cli/build-server.ts failed (exit ${r.status ?? r.signal}): ${r.stderr}`;
}

/** `npm run cli -- …` against the same configuration; returns stdout (stderr is kept apart). */
export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(TSX, ["lib/cli/main.ts", ...args], {
    cwd: ROOT,
    env: childEnv(env),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
