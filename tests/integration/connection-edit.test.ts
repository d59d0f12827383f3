// A connection's life after consent through the REST API, against oidc-provider and a recording API
// host: PATCH (merge semantics, re-consent on a `reconsentOnChange` setting or a new scope set, tokens
// kept otherwise), metadata (validation, list filter, webhook payloads), a secret setting that never
// leaves its encrypted column (canary in every answer, row, audit entry and log line), requested vs
// granted scopes, and delete permanently. Every case on SQLite and PostgreSQL.
import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type pino from "pino";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { env } from "@/lib/env";
import { createLogger } from "@/lib/logger";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { json, newCounters, startEmulatorServer, type EmulatorServer } from "../fixtures/http-emulator";
import { describeEachDb, dumpAllRows, sqliteRawBytes } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { storedTokens } from "../helpers/lifecycle";
import { handleProxyRequest } from "@/lib/proxy/proxy-request";
import { api, consentVia, expectNoSecrets, expectProblem, newApiKey, type TestKey } from "../helpers/api";

const GENERIC = "generic-oauth2";
let op: OidcServer;
/** an API host that records what it is sent (the proxy's target) */
let apiHost: EmulatorServer;

const logLines: string[] = [];
const g = globalThis as unknown as { __consentryLogger?: pino.Logger };
let previousLogger: pino.Logger | undefined;

beforeAll(async () => {
  expect(env().egress.allowLoopback).toBe(true);
  previousLogger = g.__consentryLogger;
  g.__consentryLogger = createLogger({ write: (line: string) => void logLines.push(line) });
  g.__consentryLogger.level = "trace";
  op = await createOidcServer({ redirectUris: [callbackUrl(GENERIC)], ttl: { AccessToken: 3600, RefreshToken: 7200 } });
  apiHost = await startEmulatorServer({
    isTokenEndpoint: () => false,
    handle: (req) => json(200, { ok: true, path: req.url }),
    counters: newCounters(),
  });
});
afterAll(async () => {
  g.__consentryLogger = previousLogger;
  await Promise.all([op?.close(), apiHost?.close()]);
});

describeEachDb("connection life after consent: edit, metadata, secret settings, scopes, purge", (getDb) => {
  let org: string;
  let otherOrg: string;
  let key: TestKey;
  let otherKey: TestKey;
  const canaries: string[] = [];

  beforeAll(async () => {
    const { db } = getDb();
    org = (await seedOrg(db)).id;
    otherOrg = (await seedOrg(db)).id;
    key = await newApiKey(db, org);
    otherKey = await newApiKey(db, otherOrg);
    await createWebhookEndpoint({
      db,
      organizationId: org,
      input: { url: `${apiHost.url}/hooks`, events: ["connection.needs_reconsent", "connection.revoked"] },
      actor: { type: "system", label: "test" },
    });
  });

  const call = (method: string, path: string, body?: unknown, k: TestKey = key) =>
    api(getDb().db, method, path, { key: k.key, body });

  const genericBody = (over: Record<string, unknown> = {}) => ({
    provider: GENERIC,
    name: `OP ${crypto.randomBytes(3).toString("hex")}`,
    settings: {
      authorization_url: op.endpoints.authorization,
      token_url: op.endpoints.token,
      client_auth: "client_secret_post",
      test_url: op.endpoints.userinfo,
      api_base_url: `${apiHost.url}/v1`,
    },
    scopes: ["openid", "offline_access", "email"],
    oauth_app: { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret },
    ...over,
  });

  async function createAndConsent(over: Record<string, unknown> = {}) {
    const created = await call("POST", "/api/v1/connections", genericBody(over));
    expect(created.status, created.text).toBe(201);
    await consentVia(getDb().db, created.json.consent_url, (u) => op.authorize(u));
    return created.json.connection.id as string;
  }

  /** a GET through the provider proxy, as the production server hands it over */
  async function proxyGet(id: string, rest: string) {
    const out = await handleProxyRequest(getDb().db, {
      method: "GET",
      target: `/api/v1/connections/${id}/proxy${rest}`,
      headers: [["authorization", `Bearer ${key.key}`]],
      body: null,
      ip: "198.51.100.7",
    });
    const text = typeof out.body === "string" ? out.body : Buffer.concat(await out.body.toArray()).toString();
    return { status: out.status, text };
  }

  const queuedEvents = async (type: string, connectionId: string) =>
    (await getDb().db.webhookDelivery.findMany({ where: { organizationId: org, eventType: type } }))
      .map((d) => JSON.parse(d.payload) as { data: Record<string, unknown> & { connection: { id: string } } })
      .filter((p) => p.data.connection.id === connectionId);

  it("PATCH of a reconsentOnChange setting: tokens deleted in the same write, pending_consent, a fresh consent_url, open links closed, connection.needs_reconsent (settings_changed); consent again → active with the same id", async () => {
    const { db } = getDb();
    const id = await createAndConsent();
    const before = await storedTokens(db, id);
    expect(before.accessToken).toBeTruthy();
    const openLink = await call("POST", `/api/v1/connections/${id}/consent-link`);
    expect(openLink.status).toBe(201);

    const res = await call("PATCH", `/api/v1/connections/${id}`, {
      settings: { token_url: `${op.endpoints.token}?v=2` },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ reconsent_required: true, connection: { id, status: "pending_consent" } });
    expect(res.json.consent_url).toMatch(/\/consent\/[A-Za-z0-9_-]{43}$/);
    expect(res.json.connection.settings.token_url).toBe(`${op.endpoints.token}?v=2`);
    expect(await db.tokenSet.count({ where: { connectionId: id } })).toBe(0);
    expectProblem(await call("POST", `/api/v1/connections/${id}/token`), 409, "needs-reconsent");
    // the link made before the change no longer opens
    await expect(consentVia(db, openLink.json.consent_url, (u) => op.authorize(u))).rejects.toThrow(/not open/);
    const events = await queuedEvents("connection.needs_reconsent", id);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ reason: "settings_changed", changed: ["token_url"] });
    await flushAuditBuffer();
    const audit = await db.auditEvent.findMany({ where: { targetId: id, action: "connection.updated" } });
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details ?? "{}")).toMatchObject({ changed: ["settings.token_url"], reconsent: true });

    // back to the OP's real token URL, then consent through the fresh link: the same id is active
    const back = await call("PATCH", `/api/v1/connections/${id}`, { settings: { token_url: op.endpoints.token } });
    expect(back.json.reconsent_required).toBe(true);
    await consentVia(db, back.json.consent_url, (u) => op.authorize(u));
    expect((await call("GET", `/api/v1/connections/${id}`)).json).toMatchObject({ id, status: "active" });
    expect((await call("POST", `/api/v1/connections/${id}/token`)).status).toBe(200);
  });

  it("PATCH of name, metadata and a plain setting keeps the tokens: the same access token is served, nothing is asked again", async () => {
    const { db } = getDb();
    const id = await createAndConsent({ metadata: { customer_id: "c-1", plan: "pro" } });
    const token = (await call("POST", `/api/v1/connections/${id}/token`)).json.access_token as string;
    const version = (await db.tokenSet.findUniqueOrThrow({ where: { connectionId: id } })).version;

    const res = await call("PATCH", `/api/v1/connections/${id}`, {
      name: "Renamed",
      metadata: { plan: null, region: "eu" },
      settings: { client_auth: "client_secret_post" },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.reconsent_required).toBe(false);
    expect(res.json.consent_url).toBeUndefined();
    expect(res.json.connection).toMatchObject({
      name: "Renamed",
      status: "active",
      metadata: { customer_id: "c-1", region: "eu" },
    });
    expect(res.json.connection.metadata).not.toHaveProperty("plan");
    expect((await call("POST", `/api/v1/connections/${id}/token`)).json.access_token).toBe(token);
    expect((await db.tokenSet.findUniqueOrThrow({ where: { connectionId: id } })).version).toBe(version);
    expect(await queuedEvents("connection.needs_reconsent", id)).toHaveLength(0);
    // the same body again changes nothing
    const again = await call("PATCH", `/api/v1/connections/${id}`, { name: "Renamed", metadata: { region: "eu" } });
    expect(again.json.reconsent_required).toBe(false);
  });

  it("metadata: validated (key shape, 32 keys, 512 characters), filtered on by ?metadata.<key>=<value> exactly, carried in webhook payloads", async () => {
    const { db } = getDb();
    const tag = crypto.randomBytes(4).toString("hex");
    const bad = [
      { metadata: { "Bad Key": "x" } },
      { metadata: { ok: "x".repeat(513) } },
      { metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) },
      { metadata: { ok: 5 } },
    ];
    const countBefore = await db.connection.count({ where: { organizationId: org } });
    for (const b of bad) {
      const res = await call("POST", "/api/v1/connections", genericBody(b));
      expectProblem(res, 422, "validation");
      expect(res.json.errors[0].path).toMatch(/^metadata/);
    }
    expect(await db.connection.count({ where: { organizationId: org } })).toBe(countBefore);

    const a = await createAndConsent({ metadata: { batch: tag, customer_id: "C-42" } });
    const b = await createAndConsent({ metadata: { batch: tag, customer_id: "c-42" } });
    const c = await createAndConsent({ metadata: { batch: tag, customer_id: "c-420" } });
    const list = async (q: string) =>
      ((await call("GET", `/api/v1/connections?${q}`)).json.data as Array<{ id: string }>).map((x) => x.id).sort();
    expect(await list(`metadata.batch=${tag}`)).toEqual([a, b, c].sort());
    // exact and case-sensitive on both databases: not C-42, not c-420
    expect(await list(`metadata.batch=${tag}&metadata.customer_id=c-42`)).toEqual([b]);
    expect(await list(`metadata.batch=${tag}&metadata.customer_id=C-42`)).toEqual([a]);
    expect(await list(`metadata.customer_id=c-4`)).toEqual([]);
    const badFilter = await call("GET", "/api/v1/connections?metadata.Bad%20Key=x");
    expectProblem(badFilter, 422, "validation");

    // a PATCH that would leave 33 keys is refused and changes nothing
    const many = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, "v"]));
    expectProblem(await call("PATCH", `/api/v1/connections/${c}`, { metadata: many }), 422, "validation");
    expect((await call("GET", `/api/v1/connections/${c}`)).json.metadata).toEqual({ batch: tag, customer_id: "c-420" });

    await call("DELETE", `/api/v1/connections/${b}`);
    const revoked = await queuedEvents("connection.revoked", b);
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.data.connection).toMatchObject({ id: b, metadata: { batch: tag, customer_id: "c-42" } });
  });

  it("PATCH refuses bad input with field paths and changes nothing; another organization's connection is 404", async () => {
    const { db } = getDb();
    const id = await createAndConsent();
    const row = await db.connection.findUniqueOrThrow({ where: { id } });
    const cases: Array<[unknown, string]> = [
      [{}, ""],
      [{ settings: { no_such_setting: "x" } }, "settings"],
      [{ settings: { token_url: "ftp://x/" } }, "settings.token_url"],
      [{ settings: { token_url: null } }, "settings.token_url"],
      [{ settings: { token_url: "https://169.254.169.254/token" } }, "settings.token_url"],
      [{ scopes: ["has space"] }, "scopes.0"],
      [{ name: "" }, "name"],
      [{ unknown_field: 1 }, ""],
    ];
    for (const [body, path] of cases) {
      const res = await call("PATCH", `/api/v1/connections/${id}`, body);
      expectProblem(res, 422, "validation");
      expect(
        (res.json.errors as Array<{ path: string }>).some((e) => e.path.startsWith(path)),
        res.text,
      ).toBe(true);
    }
    const after = await db.connection.findUniqueOrThrow({ where: { id } });
    expect(after).toMatchObject({ settings: row.settings, name: row.name, status: "active" });
    expect(await db.tokenSet.count({ where: { connectionId: id } })).toBe(1);

    // organization B cannot edit, purge, or tell A's connection from a missing one
    expectProblem(await call("PATCH", `/api/v1/connections/${id}`, { name: "stolen" }, otherKey), 404, "not-found");
    expectProblem(await call("DELETE", `/api/v1/connections/${id}?purge=true`, undefined, otherKey), 404, "not-found");
    expect(await db.connection.findUniqueOrThrow({ where: { id } })).toMatchObject({
      name: row.name,
      status: "active",
    });
  });

  it("requested scopes survive a provider that grants fewer or different ones, and the next consent asks for the requested ones", async () => {
    const { db } = getDb();
    const created = await call("POST", "/api/v1/connections", genericBody());
    const id = created.json.connection.id as string;
    expect(created.json.connection).toMatchObject({
      scopes: ["openid", "offline_access", "email"],
      granted_scopes: [],
    });
    op.failNext({ transform: (b) => ({ ...b, scope: "dummy" }) });
    await consentVia(db, created.json.consent_url, (u) => op.authorize(u));
    const got = (await call("GET", `/api/v1/connections/${id}`)).json;
    expect(got).toMatchObject({
      status: "active",
      scopes: ["openid", "offline_access", "email"],
      granted_scopes: ["dummy"],
    });
    const link = await call("POST", `/api/v1/connections/${id}/consent-link`);
    let asked = "";
    await consentVia(db, link.json.consent_url, (u) => {
      asked = new URL(u).searchParams.get("scope") ?? "";
      return op.authorize(u);
    });
    expect(asked.split(" ").sort()).toEqual(["email", "offline_access", "openid"]);
    // a new requested set asks for consent again and is what the next consent requests
    const res = await call("PATCH", `/api/v1/connections/${id}`, { scopes: ["openid", "offline_access"] });
    expect(res.json).toMatchObject({ reconsent_required: true, connection: { scopes: ["openid", "offline_access"] } });
    await consentVia(db, res.json.consent_url, (u) => {
      asked = new URL(u).searchParams.get("scope") ?? "";
      return op.authorize(u);
    });
    expect(asked.split(" ").sort()).toEqual(["offline_access", "openid"]);
  });

  it("a secret setting (api_headers) is sent to the API host and never appears in any answer, plain column, dump, audit row or log line", async () => {
    const t = getDb();
    const canary = `canary-${crypto.randomBytes(12).toString("hex")}`;
    const canary2 = `canary-${crypto.randomBytes(12).toString("hex")}`;
    canaries.push(canary, canary2);
    const answers: string[] = [];
    const created = await call(
      "POST",
      "/api/v1/connections",
      genericBody({ settings: { ...genericBody().settings, api_headers: { "X-Api-Key": canary } } }),
    );
    answers.push(created.text);
    expect(created.status, created.text).toBe(201);
    expect(created.json.connection.secret_settings).toEqual(["api_headers"]);
    expect(created.json.connection.settings).not.toHaveProperty("api_headers");
    const id = created.json.connection.id as string;
    await consentVia(t.db, created.json.consent_url, (u) => op.authorize(u));

    // the proxy sends it (beside the token)
    apiHost.resetRecording();
    const proxied = await proxyGet(id, "/items");
    expect(proxied.status, proxied.text).toBe(200);
    expect(apiHost.requests.at(-1)!.headers["x-api-key"]).toBe(canary);

    // replaced by PATCH without asking for consent again; removed with null
    const patched = await call("PATCH", `/api/v1/connections/${id}`, {
      settings: { api_headers: { "X-Api-Key": canary2 } },
    });
    answers.push(patched.text);
    expect(patched.json.reconsent_required).toBe(false);
    await proxyGet(id, "/items");
    expect(apiHost.requests.at(-1)!.headers["x-api-key"]).toBe(canary2);
    // a reserved header name is refused
    expectProblem(
      await call("PATCH", `/api/v1/connections/${id}`, { settings: { api_headers: { Authorization: "x" } } }),
      422,
      "validation",
    );
    answers.push((await call("GET", `/api/v1/connections/${id}`)).text);
    answers.push((await call("GET", `/api/v1/connections?limit=100`)).text);
    answers.push((await call("POST", `/api/v1/connections/${id}/test`)).text);

    await flushAuditBuffer();
    const plain = await t.db.connection.findUniqueOrThrow({ where: { id } });
    expect(plain.secretSettingsEnc).toBeTruthy();
    const dump = await dumpAllRows(t);
    const raw = t.kind === "sqlite" ? sqliteRawBytes(t.url).toString("latin1") : "";
    const everything = [
      ...answers,
      plain.settings,
      dump.text,
      raw,
      JSON.stringify(await t.db.auditEvent.findMany()),
      logLines.join("\n"),
    ].join("\n");
    expectNoSecrets(everything, canaries);

    const removed = await call("PATCH", `/api/v1/connections/${id}`, { settings: { api_headers: null } });
    expect(removed.json.connection.secret_settings).toEqual([]);
    await proxyGet(id, "/items");
    expect(apiHost.requests.at(-1)!.headers["x-api-key"]).toBeUndefined();
  });

  it("DELETE ?purge=true: revoked at the provider where it can, the connection, its tokens and consent links are gone, the audit trail stays; purging a disconnected one reports no revocation", async () => {
    const { db } = getDb();
    const id = await createAndConsent();
    await call("POST", `/api/v1/connections/${id}/consent-link`);
    const res = await call("DELETE", `/api/v1/connections/${id}?purge=true`);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ id, status: "revoked", purged: true, revocation: { outcome: "unsupported" } });
    expect(await db.connection.count({ where: { id } })).toBe(0);
    expect(await db.tokenSet.count({ where: { connectionId: id } })).toBe(0);
    expect(await db.consentRequest.count({ where: { connectionId: id } })).toBe(0);
    expectProblem(await call("GET", `/api/v1/connections/${id}`), 404, "not-found");
    await flushAuditBuffer();
    const actions = (await db.auditEvent.findMany({ where: { targetId: id } })).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(["connection.created", "connection.revoked", "connection.purged"]));

    const id2 = await createAndConsent();
    await call("DELETE", `/api/v1/connections/${id2}`);
    const res2 = await call("DELETE", `/api/v1/connections/${id2}?purge=true`);
    expect(res2.json).toMatchObject({ id: id2, purged: true, revocation: null });
    expectProblem(await call("DELETE", `/api/v1/connections/${id2}?purge=maybe`), 422, "validation");
    expect(await db.connection.count({ where: { id: id2 } })).toBe(0);
  });
});
