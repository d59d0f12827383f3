// The production server: first-start work, then Next.js behind a plain Node HTTP server (so that
// hot machine endpoints can later be served in front of Next, and background timers live here).
import http from "node:http";
import next from "next";
import { env } from "@/lib/env";
import { bootstrap, firstStartNotice } from "@/lib/setup/bootstrap";
import { logger } from "@/lib/logger";
import { db } from "@/lib/db/client";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { handleApiRequest } from "@/lib/api/handle-api-request";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { CLIENT_IP_HEADER } from "@/lib/http/client-ip";

async function serveApi(req: http.IncomingMessage, res: http.ServerResponse) {
  try {
    let body: string | null = null;
    if (req.method !== "GET" && req.method !== "DELETE" && req.method !== "HEAD") {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > 65 * 1024) break;
        chunks.push(chunk as Buffer);
      }
      body = Buffer.concat(chunks).toString("utf8");
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const out = await handleApiRequest(db(), { method: req.method ?? "GET", url: new URL(req.url ?? "/", "http://internal"), headers, body, ip: req.socket.remoteAddress ?? null });
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
    void flushAuditBuffer();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err) => {
  logger.fatal({ err: { message: (err as Error).message } }, "Consentry could not start");
  process.stderr.write(`\n${(err as Error).message}\n`);
  process.exit(1);
});
