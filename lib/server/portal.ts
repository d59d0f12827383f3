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
const RESTART_DELAY_MS = 1000;
/** a portal that keeps failing to start is tried again at most this often */
const MAX_RESTART_DELAY_MS = 30_000;
const UNAVAILABLE = "The portal is restarting. Retry in a few seconds.";

export type Portal = {
  proxy(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** the portal finishes what it has (requests, refreshes, commits) within `graceMs`, then exits */
  stop(graceMs: number): Promise<void>;
};

function unavailable(res: http.ServerResponse) {
  if (res.headersSent) return void res.destroy();
  res.writeHead(502, { "content-type": "text/plain; charset=utf-8", "retry-after": "5", "cache-control": "no-store" });
  res.end(UNAVAILABLE);
}

/** Starts Next.js in a child process and resolves once it answers on its socket. */
export async function startPortal({
  startTimeoutMs = 120_000,
  onUnexpectedExit,
}: { startTimeoutMs?: number; onUnexpectedExit?: () => void } = {}): Promise<Portal> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-portal-")); // mode 0700
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
      // the same Node flags (tsx's loader under `npm start`) and environment as this process
      const c = fork(path.join(__dirname, "portal-child.ts"), [], {
        env: childProcessEnv({ CONSENTRY_PORTAL_SOCKET: socketPath }),
        stdio: "inherit",
      });
      child = c;
      const timer = setTimeout(() => {
        c.kill("SIGKILL");
        reject(new Error(`the portal (Next.js) did not start within ${startTimeoutMs / 1000} s`));
      }, startTimeoutMs);
      c.on("message", (m: { ready?: boolean }) => {
        if (!m?.ready) return;
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
    proxy(req, res) {
      if (!ready) return unavailable(res);
      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
      const upstream = http.request({ socketPath, agent, method: req.method, path: req.url, headers }, (answer) => {
        const raw: string[] = [];
        for (let i = 0; i < answer.rawHeaders.length; i += 2)
          if (!HOP_BY_HOP.has(answer.rawHeaders[i]!.toLowerCase()))
            raw.push(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, raw);
        answer.pipe(res);
        answer.on("error", () => res.destroy());
      });
      upstream.on("error", () => unavailable(res));
      // the client went away before the answer was complete: stop the work upstream too
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
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
