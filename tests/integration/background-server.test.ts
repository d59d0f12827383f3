// Background work on the PRODUCTION server (front process + portal child), per database:
// - the refresh scheduler runs by default, PostgreSQL included (no CONSENTRY_REFRESH_INTERVAL_SECONDS);
// - with the scheduler off, a webhook reaches its endpoint seconds after the event, before (and
//   without) any refresh run;
// - /api/health is 200 with status ok, then degraded while a connection is overdue beyond the
//   threshold, ok again once it is not; /api/health/ready stays 200;
// - staff see the overdue banner on portal pages, in English and Japanese; a member never does;
// - GET /api/metrics: 401 without the bearer secret, the front's and the portal's figures merged
//   (a consent failure recorded in the portal process, the token API's calls in the front process).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  // this process registers the webhook endpoint (a local receiver on plain http) as the portal would
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});
import { createDb, type Db } from "@/lib/db/client";
import { hashPassword } from "@/lib/auth/password";
import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { ensureProductionBuild, freePort, startProductionServer, type ServerHandle } from "../bench/api-server";
import { cloneTemplate, dbKinds } from "../helpers/db";
import { seedConnection, seedMembership, seedOrg, seedUser } from "../helpers/factories";
import { newApiKey } from "../helpers/api";
import { startFaultServer, type FaultServer } from "../helpers/fault-server";
import { startReceiver, waitFor, type Receiver } from "../helpers/lifecycle";
import { parsePrometheusText } from "../helpers/prometheus-text";
import { K1 } from "../helpers/keyring";
import { TMP_ROOT } from "../helpers/paths";

const TIMEOUT = 240_000;
const METRICS_TOKEN = `metrics-${crypto.randomBytes(24).toString("hex")}`;
// the rendered heading (the bare text is also in the translations every page carries for its client components)
const BANNER = 'id="background-banner-title"';
const BANNER_EN = `${BANNER} class="font-semibold">Background work is overdue</h2>`;
const BANNER_JA = `${BANNER} class="font-semibold">バックグラウンド処理が遅れています</h2>`;

let buildError: string | null = null;
beforeAll(() => {
  buildError = ensureProductionBuild((s) => process.stderr.write(`${s}\n`));
  if (buildError) process.stderr.write(`SKIPPING the production-server background test: ${buildError}\n`);
}, 20 * 60_000);

/** Signs in with the password form's endpoint (Auth.js credentials); returns the Cookie header of the session. */
async function signIn(base: string, email: string, password: string): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(";")[0]!;
      jar.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const csrf = await fetch(`${base}/api/auth/csrf`);
  keep(csrf);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const res = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookie() },
    body: new URLSearchParams({ csrfToken, email, password, callbackUrl: `${base}/orgs` }).toString(),
  });
  keep(res);
  if (![...jar.keys()].some((k) => k.endsWith("authjs.session-token")))
    throw new Error(`sign-in as ${email} failed: HTTP ${res.status} ${res.headers.get("location")}`);
  return cookie();
}

const page = async (url: string, cookie: string, language = "en") => {
  const res = await fetch(url, { headers: { cookie, "accept-language": language }, redirect: "manual" });
  expect(res.status, url).toBe(200);
  return res.text();
};

for (const kind of dbKinds()) {
  describe(
    `background work, health, banner and metrics on the production server [${kind}]`,
    { timeout: TIMEOUT },
    () => {
      let fault: FaultServer | undefined;
      let db: Db;
      let dropDb: (() => Promise<void>) | undefined;
      let receiver: Receiver;
      const staff = {
        email: `staff-${crypto.randomBytes(3).toString("hex")}@example.test`,
        password: crypto.randomBytes(12).toString("hex"),
      };
      const member = {
        email: `member-${crypto.randomBytes(3).toString("hex")}@example.test`,
        password: crypto.randomBytes(12).toString("hex"),
      };
      let org: { id: string; slug: string };

      beforeAll(async () => {
        if (buildError) return;
        receiver = await startReceiver();
        let databaseUrl: string | undefined;
        if (kind === "postgresql") {
          const scratch = await cloneTemplate("postgresql");
          dropDb = scratch.drop;
          databaseUrl = scratch.url;
        }
        // the fault suites' server: the scheduler off (CONSENTRY_REFRESH_INTERVAL_SECONDS=0), the cron route on
        fault = await startFaultServer({
          databaseUrl,
          env: { CONSENTRY_METRICS_TOKEN: METRICS_TOKEN, CONSENTRY_LOCAL_LOGIN: "true", LOG_LEVEL: "warn" },
        });
        db = createDb(fault.databaseUrl);
        org = await seedOrg(db);
        await seedUser(db, { email: staff.email, isStaff: true, passwordHash: await hashPassword(staff.password) });
        const m = await seedUser(db, { email: member.email, passwordHash: await hashPassword(member.password) });
        await seedMembership(db, { organizationId: org.id, userId: m.id, role: "admin" });
      }, TIMEOUT);

      afterAll(async () => {
        await fault?.dispose();
        await db?.$disconnect().catch(() => undefined);
        await dropDb?.();
        await receiver?.close();
      }, 60_000);

      const health = async () => {
        const res = await fetch(`${fault!.url}/api/health`);
        return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
      };
      const scrape = async () => {
        const res = await fetch(`${fault!.url}/api/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        expect(res.status).toBe(200);
        return parsePrometheusText(await res.text());
      };

      it("a webhook reaches its endpoint seconds after the event, with no refresh run", async (ctx) => {
        if (buildError) return ctx.skip();
        await createWebhookEndpoint({
          db,
          organizationId: org.id,
          actor: { type: "system", label: "test" },
          input: { url: `${receiver.url}/hooks`, events: ["connection.revoked"] },
        });
        const c = await seedConnection(db, { organizationId: org.id, providerId: "generic-oauth2" });
        const key = await newApiKey(db, org.id);
        // disconnected through the REST API: the event is queued in the front process, beside its delivery loop
        const res = await fetch(`${fault!.url}/api/v1/connections/${c.id}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${key.key}` },
        });
        expect(res.status).toBe(200);
        await waitFor(() => receiver.received.length > 0, { what: "the webhook delivery", timeoutMs: 30_000 });
        expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({
          type: "connection.revoked",
          data: { connection: { id: c.id } },
        });
        // no refresh run has happened on this server, before or since
        expect((await health()).body.scheduler).toMatchObject({ lastRunAt: null });
        expect(await db.backgroundRun.count()).toBe(0);
        const m = await scrape();
        expect(m.value("consentry_webhook_deliveries_total", { outcome: "delivered" })).toBe(1);
        expect(m.value("consentry_api_requests_total", { route: "deleteConnection", status: "200" })).toBe(1);
      });

      it("health ok → degraded (still 200, ready) while a connection is overdue beyond the threshold → ok; staff see a banner, in English and Japanese, members never", async (ctx) => {
        if (buildError) return ctx.skip();
        const base = fault!.url;
        // one refresh run, through the cron route: the scheduler has run lately
        expect((await fault!.cron()).status).toBe(200);
        await waitFor(async () => (await health()).body.scheduler?.lastRunAt, { what: "the run to be recorded" });
        const ok = await health();
        expect(ok).toMatchObject({ status: 200, body: { status: "ok", reasons: [], ready: true } });
        const staffCookie = await signIn(base, staff.email, staff.password);
        const memberCookie = await signIn(base, member.email, member.password);
        const orgPage = `${base}/orgs/${org.slug}`;
        expect(await page(orgPage, staffCookie)).not.toContain(BANNER);

        // a connection due for an hour that nobody refreshes (the scheduler is off on this server)
        const c = await seedConnection(db, { organizationId: org.id, providerId: "generic-oauth2" });
        await db.connection.update({ where: { id: c.id }, data: { nextRefreshAt: new Date(Date.now() - 3600_000) } });
        const degraded = await waitFor(
          async () => {
            const h = await health();
            return h.body.status === "degraded" ? h : null;
          },
          { what: "health to turn degraded", timeoutMs: 30_000, intervalMs: 500 },
        );
        expect(degraded).toMatchObject({ status: 200, body: { reasons: ["refresh_overdue"], refresh: { due: 1 } } });
        expect(degraded.body.refresh.oldestOverdueSeconds).toBeGreaterThanOrEqual(3600);
        expect(JSON.stringify(degraded.body)).not.toContain(org.id);
        expect((await fetch(`${base}/api/health/ready`)).status).toBe(200);
        expect((await scrape()).value("consentry_refresh_oldest_overdue_seconds")).toBeGreaterThanOrEqual(3600);

        // staff: on every portal page, in their language; a member (an organization admin) never
        for (const path of [`/orgs/${org.slug}`, `/orgs/${org.slug}/connections`, "/admin/organizations"])
          expect(await page(`${base}${path}`, staffCookie), path).toContain(BANNER_EN);
        const ja = await page(orgPage, staffCookie, "ja");
        expect(ja).toContain(BANNER_JA);
        expect(ja).not.toContain(BANNER_EN);
        expect(await page(orgPage, memberCookie)).not.toContain(BANNER);

        // the work is done: health and the banner clear
        await db.connection.update({ where: { id: c.id }, data: { nextRefreshAt: null } });
        await waitFor(async () => (await health()).body.status === "ok", {
          what: "health to be ok again",
          timeoutMs: 30_000,
          intervalMs: 500,
        });
        expect(await page(orgPage, staffCookie)).not.toContain(BANNER);
      });

      it("GET /api/metrics: 401 without the secret; the portal process's figures are merged into the scrape", async (ctx) => {
        if (buildError) return ctx.skip();
        const base = fault!.url;
        for (const headers of [{}, { authorization: "Bearer not-the-metrics-token-0123456789abcdef" }] as Array<
          Record<string, string>
        >) {
          const res = await fetch(`${base}/api/metrics`, { headers });
          expect(res.status).toBe(401);
          expect(await res.text()).not.toContain("consentry_");
        }
        const before = await scrape();
        // a consent callback without state: answered (and recorded) by the portal process
        const callback = await fetch(`${base}/api/oauth/callback/generic-oauth2?code=abc`, { redirect: "manual" });
        expect(callback.status).toBeLessThan(500);
        const m = await scrape();
        expect(m.value("consentry_portal_metrics_up")).toBe(1);
        expect(
          m.value("consentry_consent_outcomes_total", { reason: "state_missing" }) -
            before.value("consentry_consent_outcomes_total", { reason: "state_missing" }),
        ).toBe(1);
        // each process's own figures, apart
        expect(m.value("process_resident_memory_bytes", { process: "server" })).toBeGreaterThan(0);
        expect(m.value("process_resident_memory_bytes", { process: "portal" })).toBeGreaterThan(0);
      });
    },
  );
}

describe.skipIf(!dbKinds().includes("postgresql"))(
  "the refresh scheduler runs by default on PostgreSQL",
  { timeout: TIMEOUT },
  () => {
    let server: ServerHandle | undefined;
    let dropDb: (() => Promise<void>) | undefined;
    let dataDir: string | undefined;
    afterAll(async () => {
      await server?.stop();
      await dropDb?.();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    it("with no CONSENTRY_REFRESH_INTERVAL_SECONDS a run is recorded shortly after the start; metrics are off (404)", async (ctx) => {
      if (buildError) return ctx.skip();
      const scratch = await cloneTemplate("postgresql");
      dropDb = scratch.drop;
      const port = await freePort();
      fs.mkdirSync(TMP_ROOT, { recursive: true });
      dataDir = fs.mkdtempSync(path.join(TMP_ROOT, "scheduler-default-"));
      // a production configuration with nothing about background work in it
      server = await startProductionServer({
        env: {
          PORT: String(port),
          CONSENTRY_URL: `http://127.0.0.1:${port}`,
          CONSENTRY_DATA_DIR: dataDir,
          DATABASE_URL: scratch.url,
          CONSENTRY_ENCRYPTION_KEYS: K1,
          AUTH_SECRET: crypto.randomBytes(32).toString("hex"),
        },
      });
      const run = await waitFor(
        async () => {
          const h = (await (await fetch(`${server!.url}/api/health`)).json()) as {
            scheduler: { lastRunAt: string | null; lastRun: Record<string, unknown> | null } | null;
          };
          return h.scheduler?.lastRunAt ? h.scheduler : null;
        },
        { what: "the scheduler's first run", timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(run.lastRun).toMatchObject({ due: 0, refreshed: 0 });
      const metrics = await fetch(`${server.url}/api/metrics`);
      expect(metrics.status).toBe(404);
      expect(metrics.headers.get("content-type")).toBe("application/problem+json");
    });
  },
);
