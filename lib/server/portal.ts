// The portal (Next.js) as a child process of the production server, reached over a Unix socket in a
// private folder, and the reverse proxy that hands it every request the server does not answer itself.
// The client address travels in CLIENT_IP_HEADER, which the server always overwrites; nobody but
// this process can connect to the socket, so nobody else can set it.
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { logger } from "@/lib/logger";
import { childProcessEnv } from "@/lib/env";

/** connection-level headers: they describe one hop, not the message (RFC 9110 §7.6.1) */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);
/** not forwarded: the front process has answered `Expect: 100-continue` itself */
const FRONT_ONLY = new Set([...HOP_BY_HOP, "expect"]);
const RESTART_DELAY_MS = 1000;
/** a portal that keeps failing to start is tried again at most this often */
const MAX_RESTART_DELAY_MS = 30_000;
/**
 * Next's answers may carry long headers (a redirect repeats its target in Location and Refresh);
 * Node's default of 16 KiB would turn them into a parse error here. Requests reach the portal
 * within the front server's own 16 KiB limit.
 */
const MAX_ANSWER_HEADER_BYTES = 64 * 1024;
/** connection errors that mean nothing is listening on the socket: the portal is down, not faulty */
const DOWN = new Set(["ENOENT", "ECONNREFUSED"]);
/**
 * The portal's young generation stays small: V8 grows it to 32 MB under load and keeps it, ~30 MB of
 * this process's idle memory, and the portal's pages are few and light (README, "Performance").
 */
const PORTAL_NODE_FLAGS = ["--max-semi-space-size=2"];

/**
 * Next's own serialized configuration of this build (.next/required-server-files.json), handed to the
 * portal as Next's standalone servers get it (__NEXT_PRIVATE_STANDALONE_CONFIG, read by next 16's
 * config loader): the portal does not load next.config.js again, and with it not next-intl's build
 * plugin, which loads native SWC and a file watcher (~20 MB). Without it Next loads next.config.js.
 */
function builtNextConfig(): string | undefined {
  try {
    const file = path.join(process.cwd(), ".next", "required-server-files.json");
    return JSON.stringify((JSON.parse(fs.readFileSync(file, "utf8")) as { config: unknown }).config);
  } catch {
    return undefined;
  }
}

export type Portal = {
  /** forwards the request; `body`, when given, is sent instead of the request's own (already read, or dropped) */
  proxy(req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): void;
  /** the portal finishes what it has (requests, refreshes, commits) within `graceMs`, then exits */
  stop(graceMs: number): Promise<void>;
  /** a message to the running portal process (lib/ipc/portal-channel.ts); false when none is running */
  send(message: object): boolean;
};

/** The portal process is not running (starting, or restarting after it exited): 503, come back shortly. */
function down(res: http.ServerResponse) {
  if (res.headersSent) return void res.destroy();
  res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "5", "cache-control": "no-store" });
  res.end("The portal is starting. Retry in a few seconds.");
}

/** The portal is running but this request failed between us (a reset socket, a malformed answer): 502. */
function upstreamFailed(res: http.ServerResponse) {
  if (res.headersSent) return void res.destroy();
  res.writeHead(502, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end("The portal failed to answer this request.");
}

/** Starts Next.js in a child process and resolves once it answers on its socket. */
export async function startPortal({
  startTimeoutMs = 120_000,
  onUnexpectedExit,
  onMessage,
}: { startTimeoutMs?: number; onUnexpectedExit?: () => void; onMessage?: (m: unknown) => void } = {}): Promise<Portal> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-portal-")); // mode 0700
  const nextConfig = builtNextConfig();
  const socketPath = path.join(dir, "next.sock");
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let child: ChildProcess | null = null;
  let ready = false;
  let stopping = false;
  let restartDelay = RESTART_DELAY_MS;

  const restartLater = () =>
    setTimeout(() => {
      if (stopping) return;
      spawnChild().then(
        () => void (restartDelay = RESTART_DELAY_MS),
        (err: Error) => {
          restartDelay = Math.min(restartDelay * 2, MAX_RESTART_DELAY_MS);
          logger.error({ err: { message: err.message }, retryInMs: restartDelay }, "the portal could not restart");
          restartLater();
        },
      );
    }, restartDelay).unref();

  const spawnChild = () =>
    new Promise<void>((resolve, reject) => {
      fs.rmSync(socketPath, { force: true });
      // beside this file and in its language: lib/server/portal-child.ts from the sources (run through
      // tsx, whose loader the child inherits with this process's Node flags), the compiled
      // portal-child.js beside the compiled server (lib/cli/build-server.ts)
      const c = fork(path.join(__dirname, `portal-child${path.extname(__filename)}`), [], {
        execArgv: [...process.execArgv, ...PORTAL_NODE_FLAGS],
        env: childProcessEnv({ CONSENTRY_PORTAL_SOCKET: socketPath, __NEXT_PRIVATE_STANDALONE_CONFIG: nextConfig }),
        stdio: "inherit",
      });
      child = c;
      const timer = setTimeout(() => {
        c.kill("SIGKILL");
        reject(new Error(`the portal (Next.js) did not start within ${startTimeoutMs / 1000} s`));
      }, startTimeoutMs);
      c.on("message", (m: { ready?: boolean }) => {
        if (!m?.ready) return void onMessage?.(m);
        clearTimeout(timer);
        ready = true;
        resolve();
      });
      c.on("exit", (code, signal) => {
        clearTimeout(timer);
        const wasReady = ready;
        ready = false;
        if (child === c) child = null;
        if (stopping) return;
        if (!wasReady)
          return reject(new Error(`the portal (Next.js) exited while starting (${signal ?? `exit code ${code}`})`));
        logger.error({ code, signal }, "the portal process exited; restarting it");
        onUnexpectedExit?.();
        restartLater();
      });
    });

  await spawnChild();

  return {
    proxy(req, res, body) {
      if (!ready) {
        req.resume();
        return down(res);
      }
      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers)) if (!FRONT_ONLY.has(k)) headers[k] = v;
      if (body) headers["content-length"] = String(body.length);
      const upstream = http.request(
        { socketPath, agent, method: req.method, path: req.url, headers, maxHeaderSize: MAX_ANSWER_HEADER_BYTES },
        (answer) => {
          const raw: string[] = [];
          for (let i = 0; i < answer.rawHeaders.length; i += 2)
            if (!HOP_BY_HOP.has(answer.rawHeaders[i]!.toLowerCase()))
              raw.push(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, raw);
          answer.pipe(res);
          answer.on("error", () => res.destroy());
        },
      );
      let clientGone = false;
      upstream.on("error", (err: NodeJS.ErrnoException) => {
        if (clientGone) return; // our own destroy() below
        if (!ready || DOWN.has(err.code ?? "")) return down(res);
        logger.warn(
          { err: { message: err.message, code: err.code }, method: req.method },
          "the portal failed to answer",
        );
        upstreamFailed(res);
      });
      // the client went away before the answer was complete: stop the work upstream too
      res.on("close", () => {
        if (res.writableFinished) return;
        clientGone = true;
        upstream.destroy();
      });
      if (body) {
        req.resume(); // whatever is left of the client's own body (nothing, or a GET's) is dropped
        upstream.end(body);
      } else req.pipe(upstream);
    },
    send(message) {
      const c = child;
      return Boolean(ready && c?.connected && c.send(message, undefined, {}, () => {}));
    },
    async stop(graceMs) {
      stopping = true;
      const c = child;
      if (c && c.exitCode === null) {
        const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
        // the child drains within the same grace (lib/server/drain-process.ts), then exits
        c.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs).unref())]);
        if (c.exitCode === null) c.kill("SIGKILL");
      }
      agent.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
