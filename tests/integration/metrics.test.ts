// GET /api/metrics (lib/metrics): Prometheus text a strict reader accepts; counters that move with a
// refresh, a token call, a webhook delivery and a consent flow; backlog gauges read at scrape time; a
// bearer secret (401 without it or with a wrong one, 404 with metrics off on the main port); and no
// token, secret, organization or connection id anywhere in the scrape. (The production server's
// merge of the portal process's figures: tests/integration/background-server.test.ts.)
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

const TOKEN = vi.hoisted(() => {
  const token = `metrics-${globalThis.crypto.randomUUID()}`;
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
  process.env.CONSENTRY_METRICS_TOKEN = token;
  return token;
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { completeConsent } from "@/lib/consent/complete-consent";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { deliverWebhooks } from "@/lib/webhooks/deliver-webhooks";
import { scrapeMetrics, serveMetrics } from "@/lib/metrics/serve-metrics";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import { followAuthorize } from "../fixtures/http-emulator";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg, seedWebhookDelivery } from "../helpers/factories";
import { api, newApiKey } from "../helpers/api";
import { SYSTEM, connectViaConsent, startReceiver, storedTokens, type Receiver } from "../helpers/lifecycle";
import { parsePrometheusText } from "../helpers/prometheus-text";

const APP = {
  client_id: `C${crypto.randomBytes(16).toString("hex")}`,
  client_secret: crypto.randomBytes(24).toString("hex"),
};
let webex: WebexEmulator;
let receiver: Receiver;

beforeAll(async () => {
  webex = await createWebexEmulator({
    integrations: [{ clientId: APP.client_id, clientSecret: APP.client_secret, redirectUris: [callbackUrl("webex")] }],
    accessTokenLifetimeSec: 3600,
  });
  setProviderHostOverridesForTests({ "https://webexapis.com": webex.url });
  receiver = await startReceiver();
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await webex?.close();
  await receiver?.close();
});

const scrape = async (t: TestDatabase) => {
  const { contentType, text } = await scrapeMetrics({ portal: null, db: t.db, backlogMaxAgeMs: 0 });
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text, m: parsePrometheusText(text) };
};

/** The metrics endpoint on a real HTTP server of its own, as the front server dispatches to it. */
async function metricsServer(t: TestDatabase) {
  const server = http.createServer((req, res) => serveMetrics(req, res, { portal: null, db: t.db }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/metrics`;
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describeEachDb("metrics", (getDb) => {
  const connect = async (t: TestDatabase, organizationId: string) =>
    (
      await connectViaConsent({
        db: t.db,
        organizationId,
        provider: "webex",
        app: APP,
        authorize: (url) => followAuthorize(url, { origins: [webex.url] }),
      })
    ).connectionId;

  it("the scrape is valid exposition text, and counters move with a refresh, a token call, a webhook delivery and a consent", async () => {
    const t = getDb();
    await t.db.webhookDelivery.deleteMany({});
    const org = await seedOrg(t.db);
    await createWebhookEndpoint({
      db: t.db,
      organizationId: org.id,
      actor: SYSTEM,
      input: { url: `${receiver.url}/hooks`, events: ["connection.connected"] },
    });
    const before = (await scrape(t)).m;
    // the process's own figures, labelled with the process
    expect(before.value("process_cpu_user_seconds_total", { process: "server" })).toBeGreaterThan(0);
    expect(before.families.get("consentry_proxy_requests_total")?.type).toBe("counter");

    const id = await connect(t, org.id); // a consent flow, and a connection.connected delivery queued
    expect(await refreshConnection({ db: t.db, connectionId: id, reason: "on_demand" })).toEqual({
      result: "refreshed",
    });
    const key = await newApiKey(t.db, org.id);
    expect((await api(t.db, "POST", `/api/v1/connections/${id}/token`, { key: key.key, body: {} })).status).toBe(200);
    expect((await api(t.db, "GET", `/api/v1/connections/${id}/nowhere`, { key: key.key })).status).toBe(404);
    expect(await deliverWebhooks({ db: t.db })).toMatchObject({ delivered: 1 });
    // a consent flow that fails: no state
    const failed = await completeConsent({
      db: t.db,
      providerId: "webex",
      params: new URLSearchParams(),
      browserSecret: undefined,
    });
    expect(failed).toMatchObject({ ok: false, reason: "state_missing" });

    const { m } = await scrape(t);
    const moved = (name: string, labels: Record<string, string>) => m.value(name, labels) - before.value(name, labels);
    expect(
      moved("consentry_refreshes_total", { trigger: "on_demand", outcome: "refreshed", failure_class: "none" }),
    ).toBe(1);
    expect(moved("consentry_refresh_duration_seconds_count", { trigger: "on_demand", outcome: "refreshed" })).toBe(1);
    expect(moved("consentry_api_requests_total", { route: "getToken", status: "200" })).toBe(1);
    expect(moved("consentry_api_requests_total", { route: "unknown", status: "404" })).toBe(1);
    expect(moved("consentry_api_request_duration_seconds_count", { route: "getToken" })).toBe(1);
    expect(moved("consentry_webhook_deliveries_total", { outcome: "delivered" })).toBe(1);
    expect(moved("consentry_consent_outcomes_total", { reason: "connected" })).toBe(1);
    expect(moved("consentry_consent_outcomes_total", { reason: "state_missing" })).toBe(1);
    // routes are labelled by their id, never by the path (which carries the connection's id)
    const routes = new Set(m.samples("consentry_api_requests_total").map((s) => s.labels.route));
    expect([...routes].every((r) => /^[a-zA-Z]+$/.test(r!))).toBe(true);
  });

  it("backlog gauges are read at scrape time: due connections, the oldest overdue, webhook deliveries waiting", async () => {
    const t = getDb();
    await t.db.webhookDelivery.deleteMany({});
    await t.db.connection.updateMany({ data: { nextRefreshAt: null } });
    const org = await seedOrg(t.db);
    const id = await connect(t, org.id);
    let { m } = await scrape(t);
    expect(m.value("consentry_refresh_due_connections")).toBe(0);
    expect(m.value("consentry_refresh_oldest_overdue_seconds")).toBe(0);
    expect(m.value("consentry_backlog_query_up")).toBe(1);
    expect(m.value("consentry_portal_metrics_up")).toBe(0); // no portal process here

    await t.db.connection.update({ where: { id }, data: { nextRefreshAt: new Date(Date.now() - 3600_000) } });
    const endpoint = await createWebhookEndpoint({
      db: t.db,
      organizationId: org.id,
      actor: SYSTEM,
      input: { url: `${receiver.url}/hooks`, events: ["connection.connected"] },
    });
    await seedWebhookDelivery(t.db, {
      organizationId: org.id,
      endpointId: endpoint.id,
      nextAttemptAt: new Date(Date.now() - 120_000),
    });
    ({ m } = await scrape(t));
    expect(m.value("consentry_refresh_due_connections")).toBe(1);
    expect(m.value("consentry_refresh_oldest_overdue_seconds")).toBeGreaterThanOrEqual(3600);
    expect(m.value("consentry_webhook_pending_deliveries")).toBe(1);
    expect(m.value("consentry_webhook_due_deliveries")).toBe(1);
    expect(m.value("consentry_webhook_oldest_due_seconds")).toBeGreaterThanOrEqual(120);
    await t.db.connection.update({ where: { id }, data: { nextRefreshAt: null } });
    await t.db.webhookDelivery.deleteMany({});
  });

  it("needs the bearer secret (401 without it, with another or a longer one), refuses other methods, and shows nothing secret", async () => {
    const t = getDb();
    const org = await seedOrg(t.db, { name: `Canary Org ${crypto.randomBytes(6).toString("hex")}` });
    const id = await connect(t, org.id);
    const key = await newApiKey(t.db, org.id);
    expect((await api(t.db, "POST", `/api/v1/connections/${id}/token`, { key: key.key, body: {} })).status).toBe(200);
    const tokens = await storedTokens(t.db, id);
    const server = await metricsServer(t);
    try {
      for (const authorization of [
        undefined,
        "Bearer",
        `Bearer ${TOKEN.slice(0, -1)}x`,
        `Bearer ${TOKEN}x`,
        `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}`,
        TOKEN,
      ]) {
        const res = await fetch(server.url, { headers: authorization ? { authorization } : {} });
        expect(res.status, String(authorization)).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
        expect(res.headers.get("content-type")).toBe("application/problem+json");
        expect(await res.text()).not.toContain("consentry_");
      }
      const post = await fetch(server.url, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");

      const res = await fetch(server.url, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const text = await res.text();
      parsePrometheusText(text);
      for (const secret of [
        TOKEN,
        key.key,
        key.prefix,
        tokens.accessToken!,
        tokens.refreshToken!,
        APP.client_secret,
        APP.client_id,
        org.id,
        org.slug,
        org.name,
        id,
      ])
        expect(text).not.toContain(secret);
    } finally {
      await server.close();
    }
  });
});
