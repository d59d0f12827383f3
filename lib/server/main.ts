// The production server: first-start work, then a plain Node HTTP server that answers the REST API
// itself and hands every other request to the portal — Next.js in a child process (lib/server/portal.ts).
// Next patches globals (Date, timers, crypto) and costs every request of its process; the API's
// process does not load it at all (see README, "Performance"). Background timers live here.
import http from "node:http";
import { pipeline } from "node:stream";
import { env, publicUrlPortMismatch } from "@/lib/env";
import { bootstrap, firstStartNotice } from "@/lib/setup/bootstrap";
import { logger } from "@/lib/logger";
import { db } from "@/lib/db/client";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { handleApiRequest, MAX_BODY, type HeaderReader } from "@/lib/api/handle-api-request";
import { recordAuditEvent } from "@/lib/audit/record-audit-event";
import { CLIENT_IP_HEADER, resolveClientIp } from "@/lib/http/client-ip";
import { redisReady } from "@/lib/redis/client";
import { startPortal } from "@/lib/server/portal";
import { guardPortalRequest, loadPortalRoutes, refuseConnect } from "@/lib/server/front-guard";
import { SHUTDOWN_GRACE_MS, drainProcess } from "@/lib/server/drain-process";
import { replayRefreshJournals } from "@/lib/tokens/refresh-journal";
import { runCronRefresh } from "@/lib/tokens/run-cron-refresh";
import { startWebhookDelivery } from "@/lib/webhooks/run-webhook-delivery";
import { handlePortalMessage } from "@/lib/ipc/portal-channel";
import { isMetricsPath, serveMetrics, startMetricsListener } from "@/lib/metrics/serve-metrics";
import { handleProxyRequest, isProxyTarget } from "@/lib/proxy/proxy-request";
import { handleActivityWebhook, LISTENER_MAX_BODY } from "@/lib/activity/listener";
import { pollActivity } from "@/lib/activity/poll";

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
    const out = await handleApiRequest(db(), {
      method: req.method ?? "GET",
      url: new URL(req.url ?? "/", "http://internal"),
      headers: new NodeHeaders(req.headers),
      body,
      ip: (req.headers[CLIENT_IP_HEADER] as string | undefined) ?? null,
    });
    if (typeof out.body !== "string") {
      // a streamed body (an Activity API content blob): passed on as it arrives
      res.writeHead(out.status, out.headers);
      return void pipeline(out.body, res, () => {});
    }
    // a known length (no chunked encoding) and a string body, which Node sends in the same write as the headers
    out.headers["content-length"] = String(Buffer.byteLength(out.body));
    res.writeHead(out.status, out.headers);
    res.end(out.body);
  } catch (err) {
    // a client that went away (or was cut off by requestTimeout) mid-body: nobody is left to answer
    if (req.destroyed || req.socket.destroyed || (err as NodeJS.ErrnoException).code === "ECONNRESET")
      return void logger.debug({ err: { message: (err as Error).message } }, "API request body aborted");
    logger.error({ err: { message: (err as Error).message } }, "API fast path failed");
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/problem+json" });
    res.end(
      JSON.stringify({
        type: "https://consentry.dev/problems/internal",
        title: "Internal error",
        status: 500,
        detail: "Something went wrong on our side.",
      }),
    );
  }
}

/** The provider proxy: the request body goes in as a stream, the provider's answer comes back as one. */
async function serveProxy(req: http.IncomingMessage, res: http.ServerResponse) {
  try {
    const headers: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined) headers.push([k, Array.isArray(v) ? v.join(", ") : v]);
    const hasBody = !(req.method === "GET" || req.method === "HEAD") && req.headers["content-length"] !== "0";
    const out = await handleProxyRequest(db(), {
      method: req.method ?? "GET",
      target: req.url ?? "/",
      headers,
      body: hasBody ? req : null,
      ip: (req.headers[CLIENT_IP_HEADER] as string | undefined) ?? null,
    });
    // a body the proxy did not read (refused before it) is drained, so that the answer reaches the client
    if (!req.complete) req.resume();
    if (typeof out.body === "string") {
      out.headers["content-length"] = String(Buffer.byteLength(out.body));
      res.writeHead(out.status, out.headers);
      return void res.end(out.body);
    }
    res.writeHead(out.status, out.headers);
    if (out.status === 204 || out.status === 304) {
      out.body.destroy();
      return void res.end();
    }
    // a client that goes away ends the upstream request too; a provider that stops mid-answer cuts the client's off
    pipeline(out.body, res, () => {});
  } catch (err) {
    logger.error({ err: { message: (err as Error).message } }, "proxy failed");
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/problem+json" });
    res.end();
  }
}

const LISTENER_PATH = /^\/api\/webhooks\/microsoft-365\/([^/?#]+)\/?(?:\?.*)?$/;

/** Microsoft's notifications: a body over the cap is read to its end (so the answer arrives) and refused. */
async function serveActivityWebhook(req: http.IncomingMessage, res: http.ServerResponse, listenerId: string) {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= LISTENER_MAX_BODY) chunks.push(chunk);
    }
    const out = await handleActivityWebhook(db(), {
      listenerId,
      headers: new NodeHeaders(req.headers),
      body: size > LISTENER_MAX_BODY ? null : Buffer.concat(chunks).toString("utf8"),
      ip: (req.headers[CLIENT_IP_HEADER] as string | undefined) ?? null,
    });
    out.headers["content-length"] = String(Buffer.byteLength(out.body));
    res.writeHead(out.status, out.headers);
    res.end(out.body);
  } catch (err) {
    if (req.destroyed || req.socket.destroyed) return;
    logger.error({ err: { message: (err as Error).message } }, "activity webhook failed");
    if (!res.headersSent) res.writeHead(503, { "content-type": "application/json", "retry-after": "30" });
    res.end(JSON.stringify({ error: "unavailable" }));
  }
}

/** The Activity API catch-up poll (lib/activity/poll.ts), on its own timer; leases keep instances apart. */
function startActivityPoll(seconds: number) {
  if (seconds <= 0) return null;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const s = await pollActivity({ db: db() });
      if (s.polled || s.pruned) logger.info({ summary: s }, "activity poll");
    } catch (err) {
      logger.error({ err: { message: (err as Error).message } }, "activity poll failed");
    } finally {
      running = false;
    }
  };
  // due subscriptions are looked for every minute at most; each is polled every `seconds`
  const t = setInterval(() => void tick(), Math.min(seconds, 60) * 1000);
  t.unref();
  return t;
}

/** POST /api/cron/refresh: answered here, so cron runs share this process's leases, budgets and held commits with the timer. */
async function serveCron(req: http.IncomingMessage, res: http.ServerResponse) {
  req.resume(); // the body means nothing here
  const a = await runCronRefresh({ db: db(), authorization: req.headers.authorization ?? null });
  a.headers["content-length"] = String(Buffer.byteLength(a.body));
  res.writeHead(a.status, a.headers);
  res.end(a.body);
}

/** Commits what stopped processes (a crash, or the portal child dying) had received from providers but not committed. */
async function replayJournals() {
  await replayRefreshJournals({
    db: db(),
    onReplayed: (c) =>
      recordAuditEvent({
        organizationId: c.organizationId,
        actor: { type: "system", label: "refresh journal" },
        action: "connection.refreshed",
        outcome: "success",
        target: { type: "connection", id: c.connectionId },
        details: { reason: "journal_replay" },
      }),
  });
}

/** `npm start` alone keeps tokens alive, in every mode: the refresh work runs on a timer here (leases keep instances apart). */
function startRefreshTimer(seconds: number) {
  if (seconds <= 0) return null;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const s = await refreshDue({ db: db() });
      if (s.due || s.warned) logger.info({ summary: s }, "background refresh");
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
  await replayJournals();
  // shared limits from the first request on; a Redis not reachable yet does not hold the start up
  if (e.redisUrl && !(await redisReady()))
    logger.warn("Redis is not reachable yet: limits and caches are per process until it is");
  const portal = await startPortal({
    onUnexpectedExit: () =>
      void replayJournals().catch((err: Error) =>
        logger.error({ err: { message: err.message } }, "refresh journal replay failed"),
      ),
    onMessage: handlePortalMessage,
  });
  const portalRoutes = loadPortalRoutes();
  const server = http.createServer(
    {
      // slow clients (headers at 1 byte/s) are cut off: the whole header block within headersTimeout,
      // the whole request within requestTimeout, checked every second
      headersTimeout: e.headersTimeoutSeconds * 1000,
      requestTimeout: e.requestTimeoutSeconds * 1000,
      connectionsCheckingInterval: 1000,
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      // The client address for audit and rate limits: the peer, or what a trusted proxy forwarded
      // (CONSENTRY_TRUSTED_PROXIES); never what a client says of itself.
      req.headers[CLIENT_IP_HEADER] =
        resolveClientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"]) ?? "unknown";
      if (isProxyTarget(req.url)) return void serveProxy(req, res);
      const listener = req.method === "POST" ? LISTENER_PATH.exec(req.url ?? "") : null;
      if (listener) return void serveActivityWebhook(req, res, listener[1]!);
      // The REST API is answered here: the same lib/api code as the route handlers `next dev` serves.
      if (req.url?.startsWith("/api/v1/") && !req.url.startsWith("/api/v1/openapi.json")) {
        void serveApi(req, res);
        return;
      }
      if (isMetricsPath(req.url)) return serveMetrics(req, res, { portal });
      if (req.method === "POST" && req.url === "/api/cron/refresh") {
        void serveCron(req, res);
        return;
      }
      // what Next would answer with a 500 is refused here first (lib/server/front-guard.ts)
      void guardPortalRequest(portalRoutes, req, res, portal.proxy);
    },
  );
  refuseConnect(server);
  server.listen(e.port, () => {
    logger.info({ url: e.publicUrl, port: e.port, database: e.dbKind }, "Consentry is listening");
    const mismatch = publicUrlPortMismatch(e.publicUrl, e.port);
    if (mismatch) logger.warn({ url: e.publicUrl, port: e.port }, mismatch);
  });
  const timer = startRefreshTimer(e.refreshIntervalSeconds);
  const activityTimer = startActivityPoll(e.activityPollSeconds);
  const webhooks = startWebhookDelivery({ db: db() });
  startMetricsListener({ portal });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, "shutting down");
    if (timer) clearInterval(timer);
    if (activityTimer) clearInterval(activityTimer);
    // a backstop: whatever happens, the process is gone shortly after the grace period
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS + 3000).unref();
    void drainProcess({
      server,
      deadline: started + SHUTDOWN_GRACE_MS - 1000,
      also: [portal.stop(SHUTDOWN_GRACE_MS - 500), webhooks.stop()],
    }).finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err) => {
  logger.fatal({ err: { message: (err as Error).message } }, "Consentry could not start");
  process.stderr.write(`\n${(err as Error).message}\n`);
  process.exit(1);
});
