// The process's Prometheus metrics (prom-client), and the one-line recorders the code calls. Off
// (every recorder a no-op, nothing collected) unless metrics are configured (lib/env.ts `metrics`).
// One set per process, kept on globalThis: in the portal child, Next's bundle and the child's own
// modules each load this file, and both must record into the same registry (the front server merges
// the portal's figures into its scrape: lib/metrics/serve-metrics.ts).
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { env } from "@/lib/env";
import type { TokenFailureClass } from "@/lib/oauth/token-errors";
import type { RefreshOutcome } from "@/lib/tokens/refresh-connection";

const FAILURE_CLASSES: TokenFailureClass[] = [
  "needs_reconsent",
  "consent_missing",
  "app_misconfigured",
  "clock_skew",
  "retryable",
  "invalid_response",
];
/** refresh triggers of lib/tokens (the `reason` given to refreshConnection) */
const TRIGGERS = ["scheduled", "on_demand", "manual"];
/** lib/consent/complete-consent.ts: "connected", or the failure's reason */
const CONSENT_REASONS = [
  "connected",
  "state_missing",
  "state_invalid",
  "state_expired",
  "wrong_browser",
  "wrong_provider",
  "link_closed",
  "provider_error",
  "code_missing",
  "host_not_allowed",
  "issuer_mismatch",
  "exchange_failed",
  "invalid_response",
  "tenant_conflict",
  "tenant_mismatch",
  "app_misconfigured",
  "paste_invalid",
];
export type TWebhookDeliveryOutcome = "delivered" | "retrying" | "failed";

function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  // the front server and the portal child are both scraped: their process figures stay apart by label.
  // The event-loop delay is sampled every 100 ms, not prom-client's 10 ms: measured with bench:api, the
  // 10 ms timer alone cost the token API about 14% of its throughput; at 100 ms nothing measurable.
  collectDefaultMetrics({
    register: registry,
    labels: { process: env().portalSocket ? "portal" : "server" },
    eventLoopMonitoringPrecision: 100,
  });
  const m = {
    registry,
    refreshes: new Counter({
      name: "consentry_refreshes_total",
      help: "Token refreshes by trigger, outcome (refreshed, already_fresh, busy, skipped, failed) and failure class",
      labelNames: ["trigger", "outcome", "failure_class"] as const,
      registers,
    }),
    refreshSeconds: new Histogram({
      name: "consentry_refresh_duration_seconds",
      help: "Time from taking the lease to the refresh's outcome (busy attempts are not timed)",
      labelNames: ["trigger", "outcome"] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
      registers,
    }),
    apiRequests: new Counter({
      name: "consentry_api_requests_total",
      help: "REST API requests by route id (lib/api/routes.ts; `unknown` when none matched) and HTTP status",
      labelNames: ["route", "status"] as const,
      registers,
    }),
    apiSeconds: new Histogram({
      name: "consentry_api_request_duration_seconds",
      help: "REST API request handling time by route id",
      labelNames: ["route"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers,
    }),
    // recorded by the provider proxy (lib/proxy/proxy-request.ts) once the provider has answered
    proxyRequests: new Counter({
      name: "consentry_proxy_requests_total",
      help: "Provider API calls made through the proxy, by provider id and upstream HTTP status",
      labelNames: ["provider", "status"] as const,
      registers,
    }),
    webhookDeliveries: new Counter({
      name: "consentry_webhook_deliveries_total",
      help: "Webhook delivery attempts by outcome (delivered; retrying: failed, tried again later; failed: given up)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    consents: new Counter({
      name: "consentry_consent_outcomes_total",
      help: "Completed consent flows: reason `connected`, or why the flow failed",
      labelNames: ["reason"] as const,
      registers,
    }),
  };
  // known series start at 0, so that rates and alerts see them before the first event
  for (const trigger of TRIGGERS) {
    for (const outcome of ["refreshed", "already_fresh", "busy", "skipped"])
      m.refreshes.inc({ trigger, outcome, failure_class: "none" }, 0);
    for (const failure_class of FAILURE_CLASSES) m.refreshes.inc({ trigger, outcome: "failed", failure_class }, 0);
  }
  for (const outcome of ["delivered", "retrying", "failed"]) m.webhookDeliveries.inc({ outcome }, 0);
  for (const reason of CONSENT_REASONS) m.consents.inc({ reason }, 0);
  return m;
}

type TMetrics = ReturnType<typeof createMetrics>;
const g = globalThis as unknown as { __consentryMetrics?: TMetrics | null };

/** This process's metrics, or null when metrics are off. */
export function metrics(): TMetrics | null {
  if (g.__consentryMetrics === undefined) g.__consentryMetrics = env().metrics.enabled ? createMetrics() : null;
  return g.__consentryMetrics;
}

export function recordRefresh(trigger: string, outcome: RefreshOutcome, seconds: number | null) {
  const m = metrics();
  if (!m) return;
  const failure_class = outcome.result === "failed" ? outcome.failureClass : "none";
  m.refreshes.inc({ trigger, outcome: outcome.result, failure_class });
  if (seconds !== null) m.refreshSeconds.observe({ trigger, outcome: outcome.result }, seconds);
}

/** `route` is the route table's id, never the path (which carries ids). */
export function recordApiRequest(route: string, status: number, seconds: number) {
  const m = metrics();
  if (!m) return;
  m.apiRequests.inc({ route, status });
  m.apiSeconds.observe({ route }, seconds);
}

export function recordProxyRequest(provider: string, status: number) {
  metrics()?.proxyRequests.inc({ provider, status });
}

export function recordWebhookDelivery(outcome: TWebhookDeliveryOutcome) {
  metrics()?.webhookDeliveries.inc({ outcome });
}

export function recordConsentOutcome(reason: string) {
  metrics()?.consents.inc({ reason });
}
