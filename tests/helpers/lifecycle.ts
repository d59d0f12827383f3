// Helpers for the token-lifecycle suites (tests/integration/refresh-*.test.ts, webhooks-*.test.ts):
// a connection made active through the real consent flow, the stored tokens decrypted, refresh
// worker processes (tests/workers/refresh-worker.ts) with a ready/go handshake, polling, and a local
// webhook receiver.
//
// Egress to the loopback emulators needs CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS=true before lib/env is
// first read: test files set it in vi.hoisted (see allowLoopbackEgressEnv).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Db } from "@/lib/db/client";
import { createConnection } from "@/lib/connections/create-connection";
import { createConsentLink } from "@/lib/connections/create-consent-link";
import { startConsent } from "@/lib/consent/start-consent";
import { completeConsent } from "@/lib/consent/complete-consent";
import { openToken } from "@/lib/tokens/token-secrets";
import { REPO_ROOT } from "./paths";
import { seedOrg } from "./factories";
import type { TestDatabase } from "./db";
import type { OidcServer } from "../fixtures/oidc-server";
import { K1 } from "./keyring";

// The emulators' cookie-jar browser uses the global agent, which keeps sockets alive (Node ≥ 19); a
// socket reused just as the emulator's server drops it after its 5 s keep-alive timeout fails with
// ECONNRESET when a slow test pauses between flows. These suites use fresh sockets.
http.globalAgent = new http.Agent({ keepAlive: false });

const realSetTimeout = globalThis.setTimeout.bind(globalThis);
export const sleep = (ms: number) => new Promise<void>((r) => realSetTimeout(r, ms));

export const SYSTEM = { type: "system", label: "test" } as const;

/** Polls `fn` (real time) until it returns a truthy value. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25, what = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Creates a connection and runs the real consent flow: consent link → startConsent → the provider's
 * authorize endpoint (played by `authorize`) → completeConsent (code exchange at the token endpoint).
 * Returns the now active connection's ids.
 */
export async function connectViaConsent({
  db,
  organizationId,
  provider,
  settings = {},
  scopes,
  app,
  authorize,
  name,
}: {
  db: Db;
  organizationId: string;
  provider: string;
  settings?: Record<string, unknown>;
  scopes?: string[];
  app: { client_id: string; client_secret?: string };
  /** opens the authorization URL like a browser and returns the redirect to our callback */
  authorize: (authorizationUrl: string) => Promise<URL>;
  name?: string;
}): Promise<{ connectionId: string; oauthAppId: string }> {
  const c = await createConnection({
    db,
    organizationId,
    actor: SYSTEM,
    input: {
      provider,
      name: name ?? `conn-${crypto.randomBytes(3).toString("hex")}`,
      settings,
      scopes,
      oauth_app: app,
    },
  });
  const link = await createConsentLink({ db, organizationId, connectionId: c.id, actor: SYSTEM });
  const browserSecret = crypto.randomBytes(16).toString("hex");
  const { authorizationUrl } = await startConsent({
    db,
    consentRequestId: link.id,
    organizationId,
    browserSecret,
    actor: SYSTEM,
  });
  const callback = await authorize(authorizationUrl);
  const outcome = await completeConsent({ db, providerId: provider, params: callback.searchParams, browserSecret });
  if (!outcome.ok) throw new Error(`consent failed: ${JSON.stringify(outcome)}`);
  return { connectionId: c.id, oauthAppId: c.oauthAppId! };
}

/** Consent again on an existing connection (a new consent link, the same flow). */
export async function reconsent({
  db,
  organizationId,
  connectionId,
  provider,
  authorize,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  provider: string;
  authorize: (authorizationUrl: string) => Promise<URL>;
}) {
  const link = await createConsentLink({ db, organizationId, connectionId, actor: SYSTEM });
  const browserSecret = crypto.randomBytes(16).toString("hex");
  const { authorizationUrl } = await startConsent({
    db,
    consentRequestId: link.id,
    organizationId,
    browserSecret,
    actor: SYSTEM,
  });
  const outcome = await completeConsent({
    db,
    providerId: provider,
    params: (await authorize(authorizationUrl)).searchParams,
    browserSecret,
  });
  if (!outcome.ok) throw new Error(`consent failed: ${JSON.stringify(outcome)}`);
}

export async function readConnection(db: Db, connectionId: string) {
  return db.connection.findUniqueOrThrow({ where: { id: connectionId }, include: { tokenSet: true } });
}

/** The stored tokens, decrypted. */
export async function storedTokens(db: Db, connectionId: string) {
  const c = await readConnection(db, connectionId);
  const owner = { organizationId: c.organizationId, connectionId };
  return {
    accessToken: c.tokenSet ? openToken(owner, "accessTokenEnc", c.tokenSet.accessTokenEnc) : null,
    refreshToken: c.tokenSet?.refreshTokenEnc ? openToken(owner, "refreshTokenEnc", c.tokenSet.refreshTokenEnc) : null,
    version: c.tokenSet?.version ?? null,
    connection: c,
  };
}

// ---------------------------------------------------------------------------------------------
// Worker processes

export type WorkerMessage = { event: string; [k: string]: unknown };

export type WorkerHandle = {
  child: ChildProcessWithoutNullStreams;
  /** the worker's own pid (tsx runs the script in a child of the process we spawn), known after "booted" */
  pid: number | undefined;
  /** resolves with the first message of this event */
  next(event: string, timeoutMs?: number): Promise<WorkerMessage>;
  /** sends the arguments (workers spawned without them read them from stdin) */
  send(args: Record<string, unknown>): void;
  /** writes "go" (the workers start at the same moment) */
  go(): void;
  /** signals the worker process itself (SIGKILL cannot be relayed by the tsx wrapper), then the wrapper */
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
};

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
export const WORKER_SCRIPT = path.join(REPO_ROOT, "tests", "workers", "refresh-worker.ts");

/**
 * Spawns tests/workers/refresh-worker.ts with the database, keyring and egress allowance of this test.
 * Without `args` the worker boots and waits for them (`send`), so its start-up overlaps the test's set-up.
 */
export function spawnRefreshWorker({
  databaseUrl,
  args,
  providerHosts = {},
}: {
  databaseUrl: string;
  args?: Record<string, unknown>;
  providerHosts?: Record<string, string>;
}): WorkerHandle {
  const child = spawn(TSX, [WORKER_SCRIPT, ...(args ? [JSON.stringify(args)] : [])], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "test",
      DATABASE_URL: databaseUrl,
      CONSENTRY_ENCRYPTION_KEYS: K1,
      CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: "true",
      CONSENTRY_PROVIDER_HOSTS: JSON.stringify(providerHosts),
      CONSENTRY_DATA_DIR: path.join(REPO_ROOT, "tests", ".tmp", "data"),
      LOG_LEVEL: "silent",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const messages: WorkerMessage[] = [];
  let workerPid: number | undefined;
  const waiters: Array<{ event: string; resolve: (m: WorkerMessage) => void }> = [];
  let buf = "";
  let err = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line.startsWith("{")) continue;
      const m = JSON.parse(line) as WorkerMessage;
      if ((m.event === "booted" || m.event === "ready") && typeof m.pid === "number") workerPid = m.pid;
      messages.push(m);
      for (const w of waiters.filter((w) => w.event === m.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const workerExited = async () => {
    for (let i = 0; i < 200 && workerPid !== undefined; i++) {
      try {
        process.kill(workerPid, 0);
      } catch {
        return;
      }
      await sleep(25);
    }
  };
  return {
    child,
    get pid() {
      return workerPid;
    },
    next(event, timeoutMs = 20_000) {
      const seen = messages.find((m) => m.event === event);
      if (seen) {
        messages.splice(messages.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const t = realSetTimeout(
          () =>
            reject(new Error(`worker ${child.pid}: no "${event}" within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`)),
          timeoutMs,
        );
        waiters.push({
          event,
          resolve: (m) => {
            clearTimeout(t);
            messages.splice(messages.indexOf(m), 1);
            resolve(m);
          },
        });
        void exited.then(({ code, signal }) =>
          reject(
            new Error(`worker ${child.pid} exited (${code ?? signal}) before "${event}"; stderr: ${err.slice(-2000)}`),
          ),
        );
      });
    },
    send(a) {
      child.stdin.write(`${JSON.stringify(a)}\n`);
    },
    go() {
      child.stdin.write("go\n");
    },
    kill(signal = "SIGKILL") {
      if (workerPid !== undefined) {
        try {
          process.kill(workerPid, signal);
        } catch {
          // already gone
        }
      }
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited: exited.then(async (r) => (await workerExited(), r)),
    stderr: () => err,
  };
}

// ---------------------------------------------------------------------------------------------
// A webhook receiver

export type ReceivedWebhook = { path: string; headers: http.IncomingHttpHeaders; body: string; at: number };

export type Receiver = {
  url: string;
  received: ReceivedWebhook[];
  /** "ok" → 204, a number → that status, "hang" → never answers */
  mode: "ok" | "hang" | number;
  close(): Promise<void>;
};

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const state: { mode: Receiver["mode"] } = { mode: "ok" };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      });
      if (state.mode === "hang") return;
      res.writeHead(state.mode === "ok" ? 204 : state.mode);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    get mode() {
      return state.mode;
    },
    set mode(m) {
      state.mode = m;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A generic-oauth2 connection consented for real against the OP (so its refresh token is real), through `t.db`. */
export async function connectGenericViaOp(op: OidcServer, t: Pick<TestDatabase, "db">) {
  const org = await seedOrg(t.db);
  const { connectionId } = await connectViaConsent({
    db: t.db,
    organizationId: org.id,
    provider: "generic-oauth2",
    settings: {
      authorization_url: op.endpoints.authorization,
      token_url: op.endpoints.token,
      client_auth: "client_secret_post",
    },
    scopes: ["openid", "offline_access"],
    app: op.clients.post,
    authorize: (url) => op.authorize(url),
  });
  return { organizationId: org.id, connectionId };
}

/** Makes the connection due for the scheduler now. */
export const makeDue = (t: TestDatabase, connectionId: string) =>
  t.db.connection.update({ where: { id: connectionId }, data: { nextRefreshAt: new Date(Date.now() - 1000) } });

/**
 * Refresh-worker processes started ahead of the tests that use them (booting tsx takes seconds);
 * their arguments come later. Workers still alive go back to the pool and take another command.
 */
export function workerPool() {
  const all: WorkerHandle[] = [];
  let pool: WorkerHandle[] = [];
  return {
    start(t: TestDatabase, n: number) {
      pool = Array.from({ length: n }, () => {
        const w = spawnRefreshWorker({ databaseUrl: t.url });
        all.push(w);
        return w;
      });
    },
    boot(t: TestDatabase, n: number): WorkerHandle[] {
      if (pool.length < n) throw new Error(`worker pool too small for ${t.kind}: start more`);
      return pool.splice(0, n);
    },
    release: (...ws: WorkerHandle[]) => void pool.unshift(...ws),
    killAll() {
      for (const w of all) w.kill();
    },
  };
}
