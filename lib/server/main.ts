// The production server: first-start work, then Next.js behind a plain Node HTTP server (so that
// hot machine endpoints can later be served in front of Next, and background timers live here).
import http from "node:http";
import next from "next";
import { env } from "@/lib/env";
import { bootstrap, firstStartNotice } from "@/lib/setup/bootstrap";
import { logger } from "@/lib/logger";
import { db } from "@/lib/db/client";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { handleApiRequest, MAX_BODY, type HeaderReader } from "@/lib/api/handle-api-request";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { CLIENT_IP_HEADER } from "@/lib/http/client-ip";

const nodeHeader = (v: string | string[] | undefined) => (v === undefined ? null : Array.isArray(v) ? v.join(", ") : v);

/**
 * The request body as text. At most just over MAX_BODY is kept (handleApiRequest refuses anything
 * longer with a clear message); the rest is read and dropped so that the answer still reaches the client.
 */
function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (size <= MAX_BODY) chunks.push(chunk);
      size += chunk.length;
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function serveApi(req: http.IncomingMessage, res: http.ServerResponse) {
  try {
    const body = req.method === "GET" || req.method === "DELETE" || req.method === "HEAD" ? null : await readBody(req);
    // Node has already lower-cased and joined the headers; a Web Headers copy would cost more than the work
    const headers: HeaderReader = { get: (name) => nodeHeader(req.headers[name]) };
    const out = await handleApiRequest(db(), { method: req.method ?? "GET", url: new URL(req.url ?? "/", "http://internal"), headers, body, ip: req.socket.remoteAddress ?? null });
    // a known length (no chunked encoding) and a string body, which Node sends in the same write as the headers
    out.headers["content-length"] = String(Buffer.byteLength(out.body));
    res.writeHead(out.status, out.headers);
    res.end(out.body);
  } catch (err) {
    logger.error({ err: { message: (err as Error).message } }, "API fast path failed");
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type: "https://consentry.dev/problems/internal", title: "Internal error", status: 500, detail: "Something went wrong on our side." }));
  }
}

/** On the embedded default `npm start` alone keeps tokens alive: the refresh work runs on a timer here. */
function startRefreshTimer(seconds: number) {
  if (seconds <= 0) return null;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const s = await refreshDue({ db: db() });
      if (s.due || s.warned || s.webhooks.attempted) logger.info({ summary: s }, "background refresh");
    } catch (err) {
      logger.error({ err: { message: (err as Error).message } }, "background refresh failed");
    } finally {
      running = false;
    }
  };
  const t = setInterval(() => void tick(), seconds * 1000);
  t.unref();
  setTimeout(() => void tick(), 2000).unref();
  return t;
}

async function main() {
  const e = env();
  const result = await bootstrap();
  const notice = firstStartNotice(result, e.publicUrl);
  if (notice) process.stdout.write(notice + "\n");
  const app = next({ dev: false, dir: process.cwd(), port: e.port, hostname: "0.0.0.0" });
  await app.prepare();
  const handle = app.getRequestHandler();
  const server = http.createServer((req, res) => {
    // The peer address as seen by this server, for audit and rate limits; never taken from the client.
    req.headers[CLIENT_IP_HEADER] = req.socket.remoteAddress ?? "unknown";
    // The REST API is answered here, in front of Next: same lib/api code as the route handlers,
    // without the framework's per-request cost (see README, "Performance").
    if (req.url?.startsWith("/api/v1/") && !req.url.startsWith("/api/v1/openapi.json")) {
      void serveApi(req, res);
      return;
    }
    void handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(e.port, () => logger.info({ url: e.publicUrl, port: e.port, database: e.dbKind }, "Consentry is listening"));
  const timer = startRefreshTimer(e.refreshIntervalSeconds);
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    if (timer) clearInterval(timer);
    // requests in progress finish; then every audited call is committed before the process ends
    server.close(() => void flushAuditBuffer().finally(() => process.exit(0)));
    server.closeIdleConnections();
    setTimeout(() => void flushAuditBuffer().finally(() => process.exit(0)), 5000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err) => {
  logger.fatal({ err: { message: (err as Error).message } }, "Consentry could not start");
  process.stderr.write(`\n${(err as Error).message}\n`);
  process.exit(1);
});
