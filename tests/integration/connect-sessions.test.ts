// Connect sessions (consent embedded in an integrator's product) and webhook endpoints through the REST
// API, against oidc-provider, on SQLite and PostgreSQL: validation (origins, return URL, expiry),
// single use, the session's result for the backend and for the script's status poll (CORS for allowed
// origins only), metadata on the connection and in connection.connected, reconnect, revoke, cross-
// organization refusals, audit of every session event, and webhook endpoints with a once-shown secret.
import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl, startConsent } from "@/lib/consent/start-consent";
import { completeConsent } from "@/lib/consent/complete-consent";
import { env } from "@/lib/env";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { connectStatusResponse, findSessionByToken, startConnectSession } from "@/lib/connect-sessions/connect-session";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { CookieJar } from "../fixtures/http-emulator";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { api, expectProblem, newApiKey, type TestKey } from "../helpers/api";
import type { Db } from "@/lib/db/client";

const GENERIC = "generic-oauth2";
const APP_ORIGIN = "https://app.customer.example";
let op: OidcServer;

beforeAll(async () => {
  expect(env().egress.allowLoopback).toBe(true);
  op = await createOidcServer({ redirectUris: [callbackUrl(GENERIC)], ttl: { AccessToken: 3600, RefreshToken: 7200 } });
});
afterAll(async () => op?.close());

/** What the hosted page and the browser do: start the session, approve at the OP, come back to the callback. */
async function connectVia(db: Db, connectUrl: string) {
  const token = new URL(connectUrl).pathname.split("/").pop()!;
  const started = await startConnectSession(db, token, "popup", "198.51.100.9");
  if (!started) throw new Error("session did not start");
  const browserSecret = crypto.randomBytes(32).toString("base64url");
  const { authorizationUrl } = await startConsent({
    db,
    consentRequestId: started.consentRequestId,
    organizationId: started.organizationId,
    browserSecret,
    actor: { type: "anonymous", label: "connect session" },
  });
  const callback = await op.authorize(authorizationUrl);
  return completeConsent({ db, providerId: GENERIC, params: callback.searchParams, browserSecret });
}

async function status(db: Db, token: string, origin?: string) {
  const res = await connectStatusResponse(db, token, origin ?? null);
  return { status: res.status, cors: res.headers.get("access-control-allow-origin"), json: await res.json() };
}

describeEachDb("connect sessions and webhook endpoints (REST API)", (getDb) => {
  let org: string;
  let otherOrg: string;
  let key: TestKey;
  let otherKey: TestKey;
  let appId: string;

  beforeAll(async () => {
    const { db } = getDb();
    org = (await seedOrg(db)).id;
    otherOrg = (await seedOrg(db)).id;
    key = await newApiKey(db, org);
    otherKey = await newApiKey(db, otherOrg);
    // the organization's own app for the generic provider: the session's default
    const created = await api(db, "POST", "/api/v1/connections", {
      key: key.key,
      body: {
        provider: GENERIC,
        name: "seed",
        settings: { authorization_url: op.endpoints.authorization, token_url: op.endpoints.token },
        oauth_app: { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret },
      },
    });
    expect(created.status, created.text).toBe(201);
    appId = (await db.connection.findUniqueOrThrow({ where: { id: created.json.connection.id } })).oauthAppId!;
  });

  const call = (method: string, path: string, body?: unknown, k: TestKey = key) =>
    api(getDb().db, method, path, { key: k.key, body });

  const sessionBody = (over: Record<string, unknown> = {}) => ({
    provider: GENERIC,
    name: "Embedded",
    settings: { authorization_url: op.endpoints.authorization, token_url: op.endpoints.token },
    scopes: ["openid", "offline_access"],
    metadata: { customer_id: "cust-7" },
    allowed_origins: [APP_ORIGIN],
    return_url: `${APP_ORIGIN}/settings/integrations?tab=m365`,
    ...over,
  });

  it("creation refuses what would let a result leak: non-https or path-bearing origins, a return URL elsewhere, bad expiry", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ allowed_origins: [] }, "allowed_origins"],
      [{ allowed_origins: ["http://app.customer.example"] }, "allowed_origins.0"],
      [{ allowed_origins: ["https://app.customer.example/settings"] }, "allowed_origins.0"],
      [{ allowed_origins: ["https://user:pw@app.customer.example"] }, "allowed_origins.0"],
      [{ allowed_origins: ["*"] }, "allowed_origins.0"],
      [{ return_url: "https://evil.example/x" }, "return_url"],
      [{ return_url: "javascript:alert(1)" }, "return_url"],
      [{ expires_in: 9 }, "expires_in"],
      [{ expires_in: 8 * 86400 }, "expires_in"],
      [{ name: undefined }, "name"],
      [{ provider: "nope" }, "provider"],
      [{ metadata: { "Bad Key": "x" } }, "metadata"],
      [{ settings: { authorization_url: "https://169.254.169.254/a", token_url: op.endpoints.token } }, "settings"],
    ];
    const before = await getDb().db.connectSession.count();
    for (const [over, path] of cases) {
      const res = await call("POST", "/api/v1/connect-sessions", sessionBody(over));
      expectProblem(res, 422, "validation");
      expect(
        (res.json.errors as Array<{ path: string }>).some((e) => e.path.startsWith(path)),
        res.text,
      ).toBe(true);
    }
    expect(await getDb().db.connectSession.count()).toBe(before);
    // a key without connections:write
    const readOnly = await newApiKey(getDb().db, org, ["connections:read"]);
    expectProblem(await call("POST", "/api/v1/connect-sessions", sessionBody(), readOnly), 403, "forbidden");
  });

  it("popup flow: consent → connected; the backend and the status poll see it; metadata on the connection and in connection.connected; single use", async () => {
    const { db } = getDb();
    await call("POST", "/api/v1/webhook-endpoints", {
      url: "http://127.0.0.1:9/consentry",
      events: ["connection.connected"],
    });
    const created = await call("POST", "/api/v1/connect-sessions", sessionBody({ expires_in: 600 }));
    expect(created.status, created.text).toBe(201);
    expect(created.headers["cache-control"]).toBe("no-store");
    const { id, session_token: token, connect_url: url, expires_at } = created.json;
    expect(url).toBe(`${env().publicUrl}/connect/${token}`);
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan(590_000);
    // only the hash is stored
    const row = await db.connectSession.findUniqueOrThrow({ where: { id } });
    expect(JSON.stringify(row)).not.toContain(token);

    expect((await call("GET", `/api/v1/connect-sessions/${id}`)).json).toMatchObject({
      status: "pending",
      connection_id: null,
    });
    const pending = await status(db, token, APP_ORIGIN);
    expect(pending).toMatchObject({ status: 200, cors: APP_ORIGIN, json: { status: "pending" } });

    const outcome = await connectVia(db, url);
    expect(outcome.ok).toBe(true);
    expect(outcome.connect).toMatchObject({
      origins: [APP_ORIGIN],
      mode: "popup",
      returnUrl: `${APP_ORIGIN}/settings/integrations?tab=m365`,
      result: { status: "connected", error: null },
    });
    const connectionId = outcome.connect!.result.connectionId!;
    const session = (await call("GET", `/api/v1/connect-sessions/${id}`)).json;
    expect(session).toMatchObject({ id, status: "connected", connection_id: connectionId, error: null });
    expect(await status(db, token, APP_ORIGIN)).toMatchObject({
      cors: APP_ORIGIN,
      json: { status: "connected", connection_id: connectionId },
    });
    // another origin gets no CORS grant: its page cannot read the answer
    expect((await status(db, token, "https://evil.example")).cors).toBeNull();

    const conn = (await call("GET", `/api/v1/connections/${connectionId}`)).json;
    expect(conn).toMatchObject({ status: "active", name: "Embedded", metadata: { customer_id: "cust-7" } });
    expect((await db.connection.findUniqueOrThrow({ where: { id: connectionId } })).oauthAppId).toBe(appId);
    const events = (
      await db.webhookDelivery.findMany({ where: { organizationId: org, eventType: "connection.connected" } })
    )
      .map((d) => JSON.parse(d.payload))
      .filter((p) => p.data.connection.id === connectionId);
    expect(events).toHaveLength(1);
    expect(events[0].data.connection.metadata).toEqual({ customer_id: "cust-7" });

    // single use: a second start is refused, nothing more is created
    const count = await db.connection.count({ where: { organizationId: org } });
    expect(await startConnectSession(db, token, "popup", null)).toBeNull();
    expect(await db.connection.count({ where: { organizationId: org } })).toBe(count);

    await flushAuditBuffer();
    const actions = (await db.auditEvent.findMany({ where: { targetId: id } })).map((a) => a.action);
    expect(actions).toEqual(
      expect.arrayContaining(["connect_session.created", "connect_session.started", "connect_session.connected"]),
    );
  });

  it("declined at the provider → error with Consentry's reason; expired and revoked sessions cannot start", async () => {
    const { db } = getDb();
    const created = (await call("POST", "/api/v1/connect-sessions", sessionBody())).json;
    const token = created.session_token as string;
    const started = await startConnectSession(db, token, "redirect", null);
    const browserSecret = crypto.randomBytes(32).toString("base64url");
    const { authorizationUrl } = await startConsent({
      db,
      consentRequestId: started!.consentRequestId,
      organizationId: started!.organizationId,
      browserSecret,
      actor: { type: "anonymous" },
    });
    // a browser without a session at the OP, so the (denied) interaction happens
    op.setNextInteraction({ deny: true });
    const callback = await op.authorize(authorizationUrl, { jar: new CookieJar() });
    const outcome = await completeConsent({ db, providerId: GENERIC, params: callback.searchParams, browserSecret });
    expect(outcome.ok).toBe(false);
    expect(outcome.connect?.result).toMatchObject({ status: "error", error: "provider_error" });
    expect((await call("GET", `/api/v1/connect-sessions/${created.id}`)).json).toMatchObject({
      status: "error",
      error: "provider_error",
    });

    const expiring = (await call("POST", "/api/v1/connect-sessions", sessionBody({ expires_in: 60 }))).json;
    await db.connectSession.update({ where: { id: expiring.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await startConnectSession(db, expiring.session_token, "popup", null)).toBeNull();
    expect((await call("GET", `/api/v1/connect-sessions/${expiring.id}`)).json).toMatchObject({
      status: "expired",
      error: "expired",
    });

    const revoking = (await call("POST", "/api/v1/connect-sessions", sessionBody())).json;
    const revoked = await call("DELETE", `/api/v1/connect-sessions/${revoking.id}`);
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.json).toMatchObject({ status: "error", error: "revoked" });
    expect(await startConnectSession(db, revoking.session_token, "popup", null)).toBeNull();
    expectProblem(await call("DELETE", `/api/v1/connect-sessions/${revoking.id}`), 409, "conflict");
    expect(await findSessionByToken(db, revoking.session_token)).toMatchObject({ id: revoking.id });
  });

  it("reconnect keeps the connection's id; another organization can neither attach to it nor read or revoke the session", async () => {
    const { db } = getDb();
    const first = (await call("POST", "/api/v1/connect-sessions", sessionBody())).json;
    const outcome = await connectVia(db, first.connect_url);
    const connectionId = outcome.connect!.result.connectionId!;
    await call("DELETE", `/api/v1/connections/${connectionId}`);

    // organization B names A's connection: 404, like a missing one
    const stolen = await call(
      "POST",
      "/api/v1/connect-sessions",
      { provider: GENERIC, connection_id: connectionId, allowed_origins: [APP_ORIGIN] },
      otherKey,
    );
    expectProblem(stolen, 404, "not-found");
    expectProblem(await call("GET", `/api/v1/connect-sessions/${first.id}`, undefined, otherKey), 404, "not-found");
    expectProblem(await call("DELETE", `/api/v1/connect-sessions/${first.id}`, undefined, otherKey), 404, "not-found");

    const again = await call("POST", "/api/v1/connect-sessions", {
      provider: GENERIC,
      connection_id: connectionId,
      metadata: { plan: "enterprise" },
      allowed_origins: [APP_ORIGIN],
    });
    expect(again.status, again.text).toBe(201);
    const second = await connectVia(db, again.json.connect_url);
    expect(second.connect?.result).toMatchObject({ status: "connected", connectionId });
    expect((await call("GET", `/api/v1/connections/${connectionId}`)).json).toMatchObject({
      id: connectionId,
      status: "active",
      metadata: { customer_id: "cust-7", plan: "enterprise" },
    });
    expect(await db.connection.count({ where: { organizationId: otherOrg } })).toBe(0);
  });

  it("webhook endpoints: created with the secret shown once, listed without it, deleted; another organization's → 404", async () => {
    const created = await call("POST", "/api/v1/webhook-endpoints", {
      url: "http://127.0.0.1:9/two",
      events: ["connection.revoked", "connection.needs_reconsent"],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_/);
    const list = await call("GET", "/api/v1/webhook-endpoints");
    expect(list.text).not.toContain(created.json.secret);
    expect(list.json.data).toContainEqual(
      expect.objectContaining({ id: created.json.id, events: ["connection.revoked", "connection.needs_reconsent"] }),
    );
    expectProblem(
      await call("POST", "/api/v1/webhook-endpoints", {
        url: "http://169.254.169.254/",
        events: ["connection.revoked"],
      }),
      422,
      "validation",
    );
    expectProblem(
      await call("POST", "/api/v1/webhook-endpoints", { url: "https://x.example", events: ["nope"] }),
      422,
      "validation",
    );
    expectProblem(
      await call("DELETE", `/api/v1/webhook-endpoints/${created.json.id}`, undefined, otherKey),
      404,
      "not-found",
    );
    expect((await call("DELETE", `/api/v1/webhook-endpoints/${created.json.id}`)).status).toBe(200);
    expect((await call("GET", "/api/v1/webhook-endpoints")).json.data.map((w: { id: string }) => w.id)).not.toContain(
      created.json.id,
    );
  });
});
