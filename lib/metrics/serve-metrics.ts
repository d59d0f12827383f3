// GET /api/metrics: the Prometheus text exposition of this instance. The front server answers it:
// its own metrics, the portal child's (asked over the fork channel at each scrape, merged series by
// series: counters of the same name and labels are summed; process figures keep a `process` label),
// and backlog gauges read from the database at scrape time (cached a few seconds). Behind
// CONSENTRY_METRICS_TOKEN (a bearer secret) on the main port, and/or on its own listener
// (CONSENTRY_METRICS_PORT, loopback unless CONSENTRY_METRICS_HOST says otherwise).
import crypto from "node:crypto";
import http from "node:http";
import { AggregatorRegistry, Gauge, Registry } from "prom-client";
import { db as processDb, type Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError, toProblem } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { readBackgroundStatusCached } from "@/lib/background/read-background-status";
import { askPortalMetrics } from "@/lib/ipc/portal-channel";
import { metrics } from "@/lib/metrics/metrics";

type PortalLink = { send(m: object): boolean };
/** `portal`: the portal child to merge (null: none); `db`: where the backlog is read (the process's database by default) */
type ScrapeSource = { portal: PortalLink | null; db?: Db };

export const METRICS_PATH = "/api/metrics";

export function isMetricsPath(url: string | undefined): boolean {
  return url === METRICS_PATH || (url?.startsWith(`${METRICS_PATH}?`) ?? false);
}

function backlogGauges() {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  return {
    registry,
    due: gauge("consentry_refresh_due_connections", "Connections due for refresh that no worker holds"),
    oldestOverdue: gauge(
      "consentry_refresh_oldest_overdue_seconds",
      "How long the longest-waiting due connection has been due (0 when none is)",
    ),
    lastRun: gauge(
      "consentry_refresh_scheduler_last_run_timestamp_seconds",
      "When a refresh run last finished on any instance (Unix time; absent until the first run)",
    ),
    webhooksPending: gauge(
      "consentry_webhook_pending_deliveries",
      "Webhook deliveries not yet delivered or given up (retries waiting included)",
    ),
    webhooksDue: gauge("consentry_webhook_due_deliveries", "Webhook deliveries whose time has come and not yet sent"),
    webhooksOldestDue: gauge(
      "consentry_webhook_oldest_due_seconds",
      "How long the longest-waiting due webhook delivery has waited (0 when none is)",
    ),
    backlogUp: gauge("consentry_backlog_query_up", "1 when this scrape could read the backlog from the database"),
    portalUp: gauge("consentry_portal_metrics_up", "1 when the portal process answered this scrape with its metrics"),
  };
}
let gauges: ReturnType<typeof backlogGauges> | undefined;

async function readBacklog(g: ReturnType<typeof backlogGauges>, db: Db, maxAgeMs: number) {
  try {
    const s = await readBackgroundStatusCached({ db, maxAgeMs });
    const age = (d: Date | null) => (d ? Math.max(0, (s.at.getTime() - d.getTime()) / 1000) : 0);
    g.due.set(s.refresh.due);
    g.oldestOverdue.set(age(s.refresh.oldestDueAt));
    if (s.scheduler.lastRunAt) g.lastRun.set(s.scheduler.lastRunAt.getTime() / 1000);
    g.webhooksPending.set(s.webhooks.pending);
    g.webhooksDue.set(s.webhooks.due);
    g.webhooksOldestDue.set(age(s.webhooks.oldestDueAt));
    g.backlogUp.set(1);
  } catch {
    for (const x of [g.due, g.oldestOverdue, g.lastRun, g.webhooksPending, g.webhooksDue, g.webhooksOldestDue])
      x.reset();
    g.backlogUp.set(0);
  }
}

/** The exposition text of this instance. `backlogMaxAgeMs`: how old the backlog figures may be (tests: 0). */
export async function scrapeMetrics({
  portal,
  db = processDb(),
  backlogMaxAgeMs = 5000,
}: ScrapeSource & { backlogMaxAgeMs?: number }): Promise<{ contentType: string; text: string }> {
  const own = metrics();
  if (!own) throw new AppError("not-found", "Metrics are off.");
  const g = (gauges ??= backlogGauges());
  const [, child] = await Promise.all([
    readBacklog(g, db, backlogMaxAgeMs),
    portal ? askPortalMetrics(portal) : Promise.resolve(null),
  ]);
  g.portalUp.set(child ? 1 : 0);
  const parts = [await own.registry.getMetricsAsJSON(), await g.registry.getMetricsAsJSON()] as unknown[][];
  if (child) parts.push(child);
  // series of the two processes that share name and labels are summed (the process figures carry a
  // `process` label, so they never collide); prom-client's per-metric aggregators would average or drop some
  for (const part of parts) for (const m of part) (m as { aggregator?: string }).aggregator = "sum";
  const merged = AggregatorRegistry.aggregate(parts as object[]);
  return { contentType: merged.contentType, text: await merged.metrics() };
}

function tokenMatches(authorization: string | undefined, token: string): boolean {
  const given = authorization?.startsWith("Bearer ") ? authorization.slice(7) : "";
  // both sides hashed first: equal lengths for timingSafeEqual, nothing learnt from how long the comparison took
  const a = crypto.createHash("sha256").update(given).digest();
  const b = crypto.createHash("sha256").update(token).digest();
  return crypto.timingSafeEqual(a, b) && given.length > 0;
}

function answerProblem(res: http.ServerResponse, e: AppError, headers: Record<string, string> = {}) {
  const body = JSON.stringify(toProblem(e));
  res.writeHead(e.status, {
    "content-type": "application/problem+json",
    "cache-control": "no-store",
    "content-length": String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

/** Answers a metrics request. `token`: the bearer secret it must carry (undefined: none, the separate listener without one). */
async function answer(req: http.IncomingMessage, res: http.ServerResponse, source: ScrapeSource, token?: string) {
  req.resume(); // a body means nothing here
  if (req.method !== "GET" && req.method !== "HEAD")
    return answerProblem(res, new AppError("method-not-allowed", "Use GET."), { allow: "GET, HEAD" });
  if (token !== undefined && !tokenMatches(req.headers.authorization, token))
    return answerProblem(
      res,
      new AppError("unauthorized", "A valid metrics token is required (Authorization: Bearer …)."),
      {
        "www-authenticate": 'Bearer realm="metrics"',
      },
    );
  try {
    const { contentType, text } = await scrapeMetrics(source);
    res.writeHead(200, {
      "content-type": contentType,
      "cache-control": "no-store",
      "content-length": String(Buffer.byteLength(text)),
    });
    res.end(req.method === "HEAD" ? undefined : text);
  } catch (err) {
    logger.error({ err: { message: (err as Error).message } }, "metrics scrape failed");
    answerProblem(res, new AppError("unavailable", "The metrics could not be gathered; retry."));
  }
}

/** GET /api/metrics on the main port: 404 unless CONSENTRY_METRICS_TOKEN is set, then only with it. */
export function serveMetrics(req: http.IncomingMessage, res: http.ServerResponse, source: ScrapeSource) {
  const token = env().metrics.token;
  if (!token) {
    req.resume();
    return answerProblem(res, new AppError("not-found", "Metrics are not served on this port."));
  }
  void answer(req, res, source, token);
}

/** The separate metrics listener (CONSENTRY_METRICS_PORT), or null when it is not configured. */
export function startMetricsListener(source: ScrapeSource): http.Server | null {
  const { port, host, token } = env().metrics;
  if (!port) return null;
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const path = req.url?.split("?")[0];
    if (path === "/metrics" || path === METRICS_PATH) return void answer(req, res, source, token);
    req.resume();
    answerProblem(res, new AppError("not-found", "Only /metrics is served here."));
  });
  server.on("error", (err) => logger.error({ err: { message: err.message }, port, host }, "metrics listener failed"));
  server.listen(port, host, () => logger.info({ port, host }, "metrics listener ready"));
  return server;
}
