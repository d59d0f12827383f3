// GET /api/health (liveness: always 200, `status` ok | degraded with reasons) and /api/health/ready
// (readiness: 503 while the database cannot be reached or migrations are pending): background work
// overdue beyond CONSENTRY_HEALTH_OVERDUE_SECONDS degrades health and nothing else; the body holds
// counts and ages only. The route modules are loaded fresh for each configuration (db() and env()
// are process-wide).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { applyMigrations } from "@/lib/db/migrations";
import { recordBackgroundRun } from "@/lib/background/record-background-run";
import { createEmptyDatabase, dbKinds, describeEachDb } from "../helpers/db";
import { seedConnection, seedOrg, seedWebhookDelivery } from "../helpers/factories";
import { K1 } from "../helpers/keyring";
import { freePort } from "../bench/api-server";
import { privatePgUnavailable, startPrivatePg, type PrivatePg } from "../helpers/private-pg";

const THRESHOLD = 120;

type G = { __consentryDb?: { $disconnect(): Promise<void> } };
async function dropGlobalDb() {
  const g = globalThis as unknown as G;
  await g.__consentryDb?.$disconnect().catch(() => undefined);
  delete g.__consentryDb;
}
afterEach(async () => {
  await dropGlobalDb();
  vi.unstubAllEnvs();
});

/** GET /api/health and /api/health/ready as the app would answer them on `url`. */
async function loadHealth(url: string) {
  await dropGlobalDb();
  vi.resetModules();
  vi.stubEnv("DATABASE_URL", url);
  vi.stubEnv("CONSENTRY_ENCRYPTION_KEYS", K1);
  vi.stubEnv("CONSENTRY_HEALTH_OVERDUE_SECONDS", String(THRESHOLD));
  const live = await import("@/app/api/health/route");
  const ready = await import("@/app/api/health/ready/route");
  const read = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, any> }); // eslint-disable-line @typescript-eslint/no-explicit-any
  return { live: async () => read(await live.GET()), ready: async () => read(await ready.GET()) };
}

const ago = (s: number) => new Date(Date.now() - s * 1000);

describeEachDb("GET /api/health", (getDb) => {
  const fresh = async (db: Db) => {
    await db.connection.updateMany({ data: { nextRefreshAt: null } });
    await db.webhookDelivery.deleteMany({});
    await recordBackgroundRun({ db, name: "refresh", summary: { due: 0, refreshed: 0, failed: {} } });
  };

  it("ok when the scheduler ran lately and nothing waits beyond the threshold; counts and ages only", async () => {
    const t = getDb();
    await fresh(t.db);
    const org = await seedOrg(t.db, { name: "Health Canary Org" });
    const c = await seedConnection(t.db, { organizationId: org.id, providerId: "generic-oauth2" });
    // due, but for less than the threshold
    await t.db.connection.update({ where: { id: c.id }, data: { nextRefreshAt: ago(THRESHOLD / 2) } });
    const h = await loadHealth(t.url);
    const live = await h.live();
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({
      status: "ok",
      reasons: [],
      ready: true,
      database: "ok",
      migrations: "current",
      scheduler: { lastRun: { due: 0, refreshed: 0, failed: {} } },
      refresh: { due: 1 },
      webhooks: { pending: 0, due: 0, oldestDueSeconds: null },
      thresholdSeconds: THRESHOLD,
    });
    expect(live.body.scheduler.lastRunAgeSeconds).toBeLessThan(THRESHOLD);
    expect(live.body.refresh.oldestOverdueSeconds).toBeGreaterThanOrEqual(THRESHOLD / 2 - 1);
    expect(live.body.refresh.oldestOverdueSeconds).toBeLessThan(THRESHOLD);
    const text = JSON.stringify(live.body);
    for (const s of [org.id, org.slug, org.name, c.id, c.name]) expect(text).not.toContain(s);
    expect((await h.ready()).status).toBe(200);
  });

  it("degraded (still 200, and ready) when a connection has been due beyond the threshold; leased ones are being worked on", async () => {
    const t = getDb();
    await fresh(t.db);
    const org = await seedOrg(t.db);
    const c = await seedConnection(t.db, { organizationId: org.id, providerId: "generic-oauth2" });
    // due for twice the threshold, but held by a worker right now: not overdue work
    await t.db.connection.update({
      where: { id: c.id },
      data: { nextRefreshAt: ago(THRESHOLD * 2), leaseOwner: "w", leaseUntil: new Date(Date.now() + 60_000) },
    });
    expect((await (await loadHealth(t.url)).live()).body).toMatchObject({ status: "ok", refresh: { due: 0 } });

    // the lease runs out and nobody takes it up
    await t.db.connection.update({ where: { id: c.id }, data: { leaseOwner: null, leaseUntil: null } });
    const h = await loadHealth(t.url);
    const live = await h.live();
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: "degraded", reasons: ["refresh_overdue"], refresh: { due: 1 } });
    expect(live.body.refresh.oldestOverdueSeconds).toBeGreaterThanOrEqual(THRESHOLD * 2 - 1);
    const ready = await h.ready();
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: "degraded", ready: true });
  });

  it("degraded when the scheduler has not finished a run for the threshold, or webhook deliveries wait beyond it", async () => {
    const t = getDb();
    await fresh(t.db);
    await recordBackgroundRun({ db: t.db, name: "refresh", summary: { due: 0 }, at: ago(THRESHOLD * 3) });
    const org = await seedOrg(t.db);
    const endpoint = await t.db.webhookEndpoint.create({
      data: {
        organizationId: org.id,
        url: "https://hooks.example.test/x",
        secretEnc: "x",
        events: "connection.connected",
      },
    });
    await seedWebhookDelivery(t.db, {
      organizationId: org.id,
      endpointId: endpoint.id,
      nextAttemptAt: ago(THRESHOLD + 30),
    });
    // a retry in backoff is pending, not due
    await seedWebhookDelivery(t.db, {
      organizationId: org.id,
      endpointId: endpoint.id,
      attempts: 3,
      nextAttemptAt: new Date(Date.now() + 600_000),
    });
    const live = await (await loadHealth(t.url)).live();
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({
      status: "degraded",
      reasons: ["scheduler_not_running", "webhooks_overdue"],
      webhooks: { pending: 2, due: 1 },
    });
    expect(live.body.scheduler.lastRunAgeSeconds).toBeGreaterThanOrEqual(THRESHOLD * 3);
    expect(live.body.webhooks.oldestDueSeconds).toBeGreaterThanOrEqual(THRESHOLD + 30);
    expect(JSON.stringify(live.body)).not.toContain("hooks.example.test");
    await t.db.webhookDelivery.deleteMany({});
  });
});

for (const kind of dbKinds()) {
  describe(`GET /api/health/ready with migrations pending [${kind}]`, () => {
    let scratch: Awaited<ReturnType<typeof createEmptyDatabase>>;
    beforeAll(async () => void (scratch = await createEmptyDatabase(kind)));
    afterAll(async () => {
      await dropGlobalDb();
      await scratch?.drop();
    });

    it("503 (and health degraded, still 200) on a database without the migrations", async () => {
      const h = await loadHealth(scratch.url);
      const ready = await h.ready();
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ ready: false, database: "ok", migrations: "pending", status: "degraded" });
      expect(ready.body.reasons).toContain("migrations_pending");
      const live = await h.live();
      expect(live.status).toBe(200);
      expect(live.body).toMatchObject({ status: "degraded", scheduler: null, refresh: null, webhooks: null });
    });
  });
}

const noPrivatePg = privatePgUnavailable();
describe.skipIf(!dbKinds().includes("postgresql") || noPrivatePg !== null)(
  "GET /api/health/ready while the database is down (a private PostgreSQL stopped and started)",
  () => {
    let pg: PrivatePg;
    let url: string;
    beforeAll(async () => {
      pg = await startPrivatePg(await freePort());
      await pg.createDatabase("consentry");
      url = pg.urlFor("consentry");
      await applyMigrations({ databaseUrl: url });
      const db = createDb(url);
      await recordBackgroundRun({ db, name: "refresh", summary: {} });
      await db.$disconnect();
    }, 120_000);
    afterAll(async () => {
      await dropGlobalDb();
      pg?.destroy();
    });

    it("200 while it answers, 503 while it is down (health still 200, degraded), 200 again once it is back", async () => {
      const h = await loadHealth(url);
      expect(await h.ready()).toMatchObject({ status: 200, body: { ready: true, status: "ok" } });
      pg.stop();
      try {
        const ready = await h.ready();
        expect(ready.status).toBe(503);
        expect(ready.body).toMatchObject({
          ready: false,
          database: "unreachable",
          status: "degraded",
          reasons: ["database_unreachable"],
        });
        expect(await h.live()).toMatchObject({ status: 200, body: { status: "degraded" } });
      } finally {
        pg.start();
      }
      const back = await (async () => {
        for (let i = 0; ; i++) {
          const r = await h.ready();
          if (r.status === 200 || i >= 40) return r;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      })();
      expect(back.status).toBe(200);
    }, 120_000);
  },
);
