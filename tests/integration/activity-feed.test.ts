// Seed 000, step 4, end to end against the Azure AD emulator serving the Office 365 Management Activity
// API (tests/fixtures/activity-feed-emulator.ts), on each database:
// consent → start two content types (the emulator validates Consentry's listener first) → Microsoft
// notifies → the organization's webhook receives activity.content_available → a job lists and downloads
// the blob through the API; the same with the webhook unreachable (the catch-up poll alone, windows
// over 24 h, NextPageUri paging) with nothing lost; the listener's refusals; Microsoft's errors.
import crypto from "node:crypto";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { generateSelfSignedCertificate } from "@/lib/crypto/certificates";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { deliverWebhooks } from "@/lib/webhooks/deliver-webhooks";
import { handleActivityWebhook } from "@/lib/activity/listener";
import { pollActivity } from "@/lib/activity/poll";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { createActivityFeed, type ActivityFeed } from "../fixtures/activity-feed-emulator";
import { followAuthorize } from "../fixtures/http-emulator";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { SYSTEM, startReceiver, waitFor, type Receiver } from "../helpers/lifecycle";
import { api, consentVia, expectNoSecrets, expectProblem, newApiKey, type TestKey } from "../helpers/api";

const PROVIDER = "microsoft-365-management";
type OrgEvent = {
  type: string;
  data: { connection: Record<string, unknown>; content: { content_id: string } };
};
type SubRow = {
  content_type: string;
  status: string;
  webhook_status: string;
  last_notification_at: string | null;
  last_error: { code: string; message: string } | null;
};
const HOUR = 3_600_000;
/** the app vendor's home tenant: Microsoft's per-publisher quota */
const PUBLISHER = "9c3e5a1f-0b7d-4e2a-8f61-3d2c1b0a9e8f";

let cert: { certificatePem: string; privateKeyPem: string };
let receiver: Receiver;
beforeAll(async () => {
  cert = await generateSelfSignedCertificate({ commonName: "Consentry activity test" });
  receiver = await startReceiver();
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await receiver?.close();
});

describeEachDb("Office 365 Activity API: subscriptions, listener, catch-up poll, content", (getDb) => {
  const tid = crypto.randomUUID();
  const app = { clientId: crypto.randomUUID(), clientSecret: `s3cr3t~${crypto.randomBytes(8).toString("hex")}` };
  let emu: AzureAdEmulator;
  let feed: ActivityFeed;
  let org: string;
  let key: TestKey;
  let otherKey: TestKey;
  let db: TestDatabase["db"];

  /** Microsoft's webhook calls, delivered in process to the listener (the address's last segment is the listener id) */
  const inProcess = async (address: string, headers: Record<string, string>, body: string) => {
    const res = await handleActivityWebhook(db, {
      listenerId: new URL(address).pathname.split("/").pop()!,
      headers: new Headers(headers),
      body,
      ip: "203.0.113.50",
    });
    return res.status;
  };

  beforeAll(async () => {
    db = getDb().db;
    if (getDb().kind === "sqlite") await db.$queryRawUnsafe("PRAGMA journal_mode=WAL");
    feed = createActivityFeed({ pageSize: 200 });
    feed.setDeliver(inProcess);
    emu = await createAzureAdEmulator({
      tenants: [{ tid, name: "Fabrikam", adminUpn: "admin@fabrikam.onmicrosoft.com", adminName: "Ada Admin" }],
      apps: [{ ...app, certificatePem: cert.certificatePem, redirectUris: [callbackUrl(PROVIDER)] }],
      defaultSignIn: { tid, decision: "approve" },
      activityFeed: feed,
    });
    setProviderHostOverridesForTests({ "https://login.windows.net": emu.url, "https://manage.office.com": emu.url });
    org = (await seedOrg(db)).id;
    key = await newApiKey(db, org);
    otherKey = await newApiKey(db, (await seedOrg(db)).id);
  });
  afterAll(async () => {
    await flushAuditBuffer();
    await emu?.close();
  });
  beforeEach(() => {
    // each test's emulator is the one of this database's block
    setProviderHostOverridesForTests({ "https://login.windows.net": emu.url, "https://manage.office.com": emu.url });
    feed.setDeliver(inProcess);
    feed.forgeAuthId = null;
  });

  async function connectMicrosoft(): Promise<string> {
    const res = await api(db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: PROVIDER,
        name: `Fabrikam audit ${crypto.randomBytes(2).toString("hex")}`,
        oauth_app: {
          client_id: app.clientId,
          client_secret: app.clientSecret,
          publisher_tenant_id: PUBLISHER,
          certificate: { certificate_pem: cert.certificatePem, private_key_pem: cert.privateKeyPem },
        },
      },
    });
    expect(res.status, res.text).toBe(201);
    await consentVia(db, res.json.consent_url, (u) => followAuthorize(u, { origins: [emu.url] }));
    emu.grantConsent(tid, app.clientId);
    return res.json.connection.id as string;
  }

  /** Microsoft forgets the tenant's subscriptions, and the earlier tests' connections stop polling: this test's connection alone */
  async function freshTenant(id: string) {
    for (const s of feed.subscriptions(tid)) s.status = "disabled";
    await db.activitySubscription.updateMany({ where: { connectionId: { not: id } }, data: { status: "disabled" } });
  }

  const base = (id: string) => `/api/v1/connections/${id}/activity`;
  async function listAll(id: string, contentType?: string) {
    const out: Array<{ content_id: string; content_type: string; created_at: string }> = [];
    let after: string | null = null;
    do {
      const q = new URLSearchParams({ limit: "100", ...(contentType ? { content_type: contentType } : {}) });
      if (after) q.set("after", after);
      const res = await api(db, "GET", `${base(id)}/content?${q}`, { key: key.key });
      expect(res.status, res.text).toBe(200);
      out.push(...res.json.data);
      after = res.json.next_after;
    } while (after);
    return out;
  }

  it("consent → start two content types (listener validated) → notifications → activity.content_available at the organization's webhook → list, download, ack", async () => {
    const endpoint = await createWebhookEndpoint({
      db,
      organizationId: org,
      input: { url: `${receiver.url}/activity`, events: ["activity.content_available"] },
      actor: SYSTEM,
    });
    const id = await connectMicrosoft();

    const started = await api(db, "POST", `${base(id)}/subscriptions`, {
      key: key.key,
      body: { content_types: ["Audit.Exchange", "Audit.SharePoint"] },
    });
    expect(started.status, started.text).toBe(200);
    const rows = Object.fromEntries(
      (started.json.data as Array<{ content_type: string }>).map((r) => [r.content_type, r]),
    );
    expect(Object.keys(rows).sort()).toEqual([
      "Audit.AzureActiveDirectory",
      "Audit.Exchange",
      "Audit.General",
      "Audit.SharePoint",
      "DLP.All",
    ]);
    expect(rows["Audit.Exchange"]).toMatchObject({ status: "enabled", webhook_status: "enabled", last_error: null });
    expect(rows["Audit.SharePoint"]).toMatchObject({ status: "enabled", webhook_status: "enabled" });
    expect(rows["Audit.General"]).toMatchObject({ status: "not_started" });
    // every Activity API call carries the publisher's id
    const feedCalls = emu.requests.filter((r) => r.path.includes("/activity/feed/"));
    expect(feedCalls.length).toBeGreaterThan(0);
    expect(feedCalls.every((r) => r.query.PublisherIdentifier === PUBLISHER)).toBe(true);
    // Microsoft validated the listener before accepting it, once per content type
    const validations = feed.deliveries.filter((d) => d.items === 0);
    expect(validations.map((d) => d.status)).toEqual([200, 200]);
    const listener = await db.activityListener.findUniqueOrThrow({ where: { connectionId: id } });
    expect(validations[0]!.address).toMatch(new RegExp(`/api/webhooks/microsoft-365/${listener.id}$`));
    // the subscription at Microsoft carries the webhook; the authId is stored encrypted only
    const atMicrosoft = feed.subscriptions(tid).find((s) => s.contentType === "Audit.Exchange")!;
    expect(atMicrosoft.webhook?.address).toBe(validations[0]!.address);
    expect(listener.authIdEnc).not.toContain(atMicrosoft.webhook!.authId);

    const blobs = feed.publish(tid, "Audit.Exchange", 3);
    const t0 = performance.now();
    const sent = await feed.notify();
    expect(sent.map((d) => d.status)).toEqual([200, 200, 200]);
    // announced after the 200: wait for the queued deliveries, then deliver them
    await waitFor(
      async () => (await db.webhookDelivery.count({ where: { eventType: "activity.content_available" } })) === 3,
    );
    const before = receiver.received.length;
    await deliverWebhooks({ db });
    const latencyMs = performance.now() - t0;
    const events = receiver.received.slice(before).map((r) => JSON.parse(r.body) as OrgEvent);
    expect(events.map((e) => e.type)).toEqual(Array(3).fill("activity.content_available"));
    expect(events.map((e) => e.data.content.content_id).sort()).toEqual(blobs.map((b) => b.contentId).sort());
    expect(events[0]!.data.connection).toMatchObject({ id, provider: PROVIDER, tenant_id: tid });
    // never the contentUri (the download address)
    for (const r of receiver.received.slice(before)) expect(r.body).not.toMatch(/manage\.office\.com|activity\/feed/);
    process.stdout.write(
      `[activity ${getDb().kind}] notification → organization webhook (3 blobs, in process): ${latencyMs.toFixed(1)} ms\n`,
    );
    expect(endpoint.secret).toBeTruthy();

    const listed = await listAll(id);
    expect(listed.map((c) => c.content_id)).toEqual(blobs.map((b) => b.contentId));
    const dl = await api(db, "GET", `${base(id)}/content/${encodeURIComponent(blobs[0]!.contentId)}`, { key: key.key });
    expect(dl.status, dl.text).toBe(200);
    expect(dl.headers["cache-control"]).toBe("no-store");
    expect(dl.json).toEqual(blobs[0]!.records);
    // the app-only token went to Microsoft, never to the job
    expectNoSecrets(dl.text + JSON.stringify(dl.headers), [app.clientSecret, cert.privateKeyPem]);

    const ack = await api(db, "POST", `${base(id)}/content/${encodeURIComponent(blobs[0]!.contentId)}/ack`, {
      key: key.key,
    });
    expect(ack.status, ack.text).toBe(200);
    expect((await listAll(id)).map((c) => c.content_id)).toEqual(blobs.slice(1).map((b) => b.contentId));

    const subs = await api(db, "GET", `${base(id)}/subscriptions`, { key: key.key });
    const exchange = (subs.json.data as SubRow[]).find((r) => r.content_type === "Audit.Exchange")!;
    expect(exchange.last_notification_at).toEqual(expect.any(String));

    // Microsoft's retry of a notification already taken: nothing new stored, nothing announced again
    const replay = await handleActivityWebhook(db, {
      listenerId: listener.id,
      headers: new Headers({ "content-type": "application/json", "webhook-authid": atMicrosoft.webhook!.authId }),
      body: JSON.stringify([
        {
          tenantId: tid,
          clientId: app.clientId,
          contentType: "Audit.Exchange",
          contentId: blobs[1]!.contentId,
          contentUri: `https://manage.office.com/api/v1.0/${tid}/activity/feed/audit/${blobs[1]!.contentId}`,
          contentCreated: new Date(blobs[1]!.created).toISOString(),
          contentExpiration: new Date(blobs[1]!.expires).toISOString(),
        },
      ]),
      ip: "203.0.113.50",
    });
    expect(replay).toMatchObject({ status: 200, body: JSON.stringify({ stored: 0 }) });
    expect(await db.activityContent.count({ where: { connectionId: id } })).toBe(3);

    // stop one: stopped at Microsoft, the row says so
    const stopped = await api(db, "DELETE", `${base(id)}/subscriptions/Audit.SharePoint`, { key: key.key });
    expect(stopped.status, stopped.text).toBe(200);
    expect(feed.subscriptions(tid).find((s) => s.contentType === "Audit.SharePoint")?.status).toBe("disabled");
    expect((stopped.json.data as SubRow[]).find((r) => r.content_type === "Audit.SharePoint")).toMatchObject({
      status: "disabled",
    });
  });

  it("the listener unreachable: start falls back to no webhook, and the catch-up poll alone collects everything — windows over 24 h, NextPageUri pages, nothing twice", async () => {
    feed.setDeliver(async () => 0); // Microsoft cannot reach Consentry (a local install)
    const id = await connectMicrosoft();
    await freshTenant(id);
    const started = await api(db, "POST", `${base(id)}/subscriptions`, {
      key: key.key,
      body: { content_types: ["Audit.General", "Audit.AzureActiveDirectory"] },
    });
    expect(started.status, started.text).toBe(200);
    const general = (started.json.data as SubRow[]).find((r) => r.content_type === "Audit.General")!;
    expect(general).toMatchObject({ status: "enabled", webhook_status: "none" });
    expect(general.last_error?.code).toBe("AF20021");

    const now = Date.now();
    const old = feed.publish(tid, "Audit.General", 2, now - 30 * HOUR); // beyond one 24 h window
    const many = feed.publish(tid, "Audit.General", 450, now - 2 * HOUR); // three pages of 200
    const aad = feed.publish(tid, "Audit.AzureActiveDirectory", 3, now - HOUR);
    const tooOld = feed.publish(tid, "Audit.General", 1, now - 8 * 24 * HOUR); // Microsoft no longer lists it
    expect(tooOld).toHaveLength(1);

    const first = await pollActivity({ db });
    expect(first.failed).toBe(0);
    expect(first.stored).toBe(455);
    const pages = emu.requests.filter((r) => r.path.endsWith("/subscriptions/content") && r.query.nextPage);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect((await listAll(id, "Audit.General")).map((c) => c.content_id)).toEqual(
      [...old, ...many].map((b) => b.contentId),
    );
    expect((await listAll(id, "Audit.AzureActiveDirectory")).map((c) => c.content_id)).toEqual(
      aad.map((b) => b.contentId),
    );

    // the next poll (made due) finds what came since, and nothing twice
    const later = feed.publish(tid, "Audit.General", 4);
    await db.activitySubscription.updateMany({ where: { connectionId: id }, data: { nextPollAt: new Date(0) } });
    const second = await pollActivity({ db, now: new Date(Date.now() + 1000) });
    expect(second.stored).toBe(4);
    expect(await db.activityContent.count({ where: { connectionId: id } })).toBe(459);
    expect((await listAll(id, "Audit.General")).slice(-4).map((c) => c.content_id)).toEqual(
      later.map((b) => b.contentId),
    );
  });

  it("Microsoft busy (503 with Retry-After) or throttling (AF429) during a poll: the subscription stays enabled and the next poll waits", async () => {
    const id = await connectMicrosoft();
    await freshTenant(id);
    expect(
      (await api(db, "POST", `${base(id)}/subscriptions`, { key: key.key, body: { content_types: ["DLP.All"] } }))
        .status,
    ).toBe(200);
    feed.failNext(503, 1, "120");
    const now = new Date();
    const s = await pollActivity({ db, now });
    expect(s.failed).toBeGreaterThanOrEqual(1);
    const row = await db.activitySubscription.findFirstOrThrow({ where: { connectionId: id, contentType: "DLP.All" } });
    expect(row.status).toBe("enabled");
    expect(row.lastErrorCode).toBe("AF50000");
    expect(row.nextPollAt!.getTime() - now.getTime()).toBeGreaterThanOrEqual(120_000);

    // throttled, as Microsoft's troubleshooting page shows it (403 with AF429): retried later, not a lost grant
    feed.failNext(403, 1);
    await db.activitySubscription.update({ where: { id: row.id }, data: { nextPollAt: new Date(0) } });
    const t2 = await pollActivity({ db });
    expect(t2.failed).toBeGreaterThanOrEqual(1);
    const throttled = await db.activitySubscription.findUniqueOrThrow({ where: { id: row.id } });
    expect(throttled).toMatchObject({ status: "enabled", lastErrorCode: "AF429" });
    expect(throttled.lastErrorMessage).toMatch(/retries later/);
  });

  it("a tenant without audit logging: the row says what the tenant admin must do; a second start within 15 minutes is not sent", async () => {
    const id = await connectMicrosoft();
    await freshTenant(id);
    feed.auditDisabled.add(tid);
    try {
      const res = await api(db, "POST", `${base(id)}/subscriptions`, {
        key: key.key,
        body: { content_types: ["Audit.Exchange"] },
      });
      expect(res.status, res.text).toBe(200);
      const row = (res.json.data as SubRow[]).find((r) => r.content_type === "Audit.Exchange")!;
      expect(row.status).toBe("error");
      expect(row.last_error?.code).toBe("AF20011");
      expect(row.last_error?.message).toMatch(/turn on audit logging/);
      const starts = () => emu.requests.filter((r) => r.path.endsWith("/subscriptions/start")).length;
      const before = starts();
      const again = await api(db, "POST", `${base(id)}/subscriptions`, {
        key: key.key,
        body: { content_types: ["Audit.Exchange"] },
      });
      expect(starts()).toBe(before);
      expect((again.json.data as SubRow[]).find((r) => r.content_type === "Audit.Exchange")!.last_error?.code).toBe(
        "start_spacing",
      );
    } finally {
      feed.auditDisabled.delete(tid);
    }
  });

  it("the listener refuses a wrong authId, tenant or client, an unknown listener (alike), a body over 1 MB, and a flood — storing nothing", async () => {
    const id = await connectMicrosoft();
    await freshTenant(id);
    await api(db, "POST", `${base(id)}/subscriptions`, { key: key.key, body: { content_types: ["Audit.Exchange"] } });
    const listener = await db.activityListener.findUniqueOrThrow({ where: { connectionId: id } });
    const authId = feed.subscriptions(tid).find((s) => s.contentType === "Audit.Exchange")!.webhook!.authId;
    const blob = feed.publish(tid, "Audit.Exchange", 1)[0]!;
    const item = {
      tenantId: tid,
      clientId: app.clientId,
      contentType: "Audit.Exchange",
      contentId: blob.contentId,
      contentUri: `https://manage.office.com/api/v1.0/${tid}/activity/feed/audit/${blob.contentId}`,
      contentCreated: new Date(blob.created).toISOString(),
      contentExpiration: new Date(blob.expires).toISOString(),
    };
    const send = (over: { listenerId?: string; authId?: string; body?: unknown; raw?: string | null; ip?: string }) =>
      handleActivityWebhook(db, {
        listenerId: over.listenerId ?? listener.id,
        headers: new Headers({ "content-type": "application/json", "webhook-authid": over.authId ?? authId }),
        body: over.raw !== undefined ? over.raw : JSON.stringify(over.body ?? [item]),
        ip: over.ip ?? "198.51.100.77",
      });
    const wrongAuth = await send({ authId: "not-the-auth-id" });
    const unknown = await send({ listenerId: crypto.randomBytes(24).toString("base64url") });
    expect(wrongAuth.status).toBe(401);
    expect(unknown).toEqual(wrongAuth); // indistinguishable
    expect((await send({ body: [{ ...item, tenantId: crypto.randomUUID() }] })).status).toBe(401);
    expect((await send({ body: [{ ...item, clientId: crypto.randomUUID() }] })).status).toBe(401);
    // a contentUri elsewhere would be fetched with the app-only token: refused
    expect(
      (await send({ body: [{ ...item, contentUri: "https://evil.example/api/v1.0/x/activity/feed/audit/1" }] })).status,
    ).toBe(400);
    expect((await send({ raw: null })).status).toBe(413);
    expect(await db.activityContent.count({ where: { connectionId: id } })).toBe(0);
    await flushAuditBuffer();
    const audited = await db.auditEvent.findMany({
      where: { action: "activity.notification_rejected", organizationId: org },
    });
    expect(audited.map((a) => JSON.parse(a.details).reason)).toEqual(
      expect.arrayContaining(["wrong_auth_id", "wrong_tenant", "wrong_client", "invalid_item", "body_too_large"]),
    );

    // a flood of wrong authIds from one address: 429 after the budget, without storing or auditing more
    const statuses: number[] = [];
    const flooder = `192.0.2.${getDb().kind === "sqlite" ? 98 : 99}`;
    for (let i = 0; i < 45; i++) statuses.push((await send({ authId: `forged-${i}`, ip: flooder })).status);
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(-10).every((s) => s === 429)).toBe(true);
    await flushAuditBuffer();
    expect(
      await db.auditEvent.count({ where: { action: "activity.notification_rejected", ip: flooder } }),
    ).toBeLessThanOrEqual(30);
    // and the right sender is still served
    expect((await send({})).status).toBe(200);
    expect(await db.activityContent.count({ where: { connectionId: id } })).toBe(1);
  });

  it("another organization's key: 404 on every activity endpoint; a non-Microsoft connection: 400", async () => {
    const id = await connectMicrosoft();
    for (const [method, path, body] of [
      ["GET", `${base(id)}/subscriptions`, undefined],
      ["POST", `${base(id)}/subscriptions`, { content_types: ["Audit.General"] }],
      ["DELETE", `${base(id)}/subscriptions/Audit.General`, undefined],
      ["GET", `${base(id)}/content`, undefined],
      ["GET", `${base(id)}/content/x`, undefined],
      ["POST", `${base(id)}/content/x/ack`, undefined],
    ] as const)
      expectProblem(await api(db, method, path, { key: otherKey.key, body }), 404, "not-found");
    const generic = await api(db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: "generic-oauth2",
        name: "not Microsoft",
        settings: { authorization_url: `${receiver.url}/a`, token_url: `${receiver.url}/t` },
        oauth_app: { client_id: "x", client_secret: "y" },
      },
    });
    expectProblem(
      await api(db, "GET", `${base(generic.json.connection.id)}/subscriptions`, { key: key.key }),
      400,
      "bad-request",
    );
    expectProblem(
      await api(db, "POST", `${base(id)}/subscriptions`, { key: key.key, body: { content_types: ["Audit.Nope"] } }),
      422,
      "validation",
    );
  });
});
