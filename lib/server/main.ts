// The production server: first-start work, then a plain Node HTTP server that answers the REST API
// itself and hands every other request to the portal — Next.js in a child process (lib/server/portal.ts).
// Next patches globals (Date, timers, crypto) and costs every request of its process; the API's
// process does not load it at all (see README, "Performance"). Background timers live here.
import http from "node:http";
import { env } from "@/lib/env";
import { bootstrap, firstStartNotice } from "@/lib/setup/bootstrap";
import { logger } from "@/lib/logger";
import { db } from "@/lib/db/client";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { handleApiRequest, MAX_BODY, type HeaderReader } from "@/lib/api/handle-api-request";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { CLIENT_IP_HEADER } from "@/lib/http/client-ip";
import { startPortal } from "@/lib/server/portal";

/** Node has already lower-cased and joined the headers; a Web Headers copy would cost more than the work. */
class NodeHeaders implements HeaderReader {
  constructor(private readonly headers: http.IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
  }
}

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
    const out = await handleApiRequest(db(), { method: req.method ?? "GET", url: new URL(req.url ?? "/", "http://internal"), headers: new NodeHeaders(req.headers), body, ip: req.socket.remoteAddress ?? null });
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
  const portal = await startPortal();
  const server = http.createServer((req, res) => {
    // The peer address as seen by this server, for audit and rate limits; never taken from the client.
    req.headers[CLIENT_IP_HEADER] = req.socket.remoteAddress ?? "unknown";
    // The REST API is answered here: the same lib/api code as the route handlers `next dev` serves.
    if (req.url?.startsWith("/api/v1/") && !req.url.startsWith("/api/v1/openapi.json")) {
      void serveApi(req, res);
      return;
    }
    portal.proxy(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(e.port, () => logger.info({ url: e.publicUrl, port: e.port, database: e.dbKind }, "Consentry is listening"));
  const timer = startRefreshTimer(e.refreshIntervalSeconds);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    if (timer) clearInterval(timer);
    // requests in progress finish, here and in the portal (it gives them 5 s); then every audited
    // call is committed before the process ends
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const drained = Promise.allSettled([closed, portal.stop()]);
    void Promise.race([drained, new Promise((r) => setTimeout(r, 7000).unref())])
      .then(() => flushAuditBuffer())
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err) => {
  logger.fatal({ err: { message: (err as Error).message } }, "Consentry could not start");
  process.stderr.write(`\n${(err as Error).message}\n`);
  process.exit(1);
});
