// The canary test of SECURITY.md #44 (issue 13): every outbound call Consentry makes is answered by a
// provider that echoes the request it received — in `error`, in `error_description`, in a JSON body,
// in an HTML page, and cut short inside `error` — and no secret that request carried is kept anywhere:
// not in any row, not in the SQLite file or a pg_dump, not in a log line, a REST API answer, a queued
// webhook or the consent outcome the tenant's result page shows.
//
// Calls covered: code exchange (Microsoft, client secret in the body; generic provider, HTTP Basic +
// PKCE), the consent callback's own error parameters, refresh (Microsoft directly; generic through
// the token endpoint of the REST API), Microsoft app-only tokens (certificate assertion and client
// secret), test calls (Webex with its access token, Backlog with an API key in the query) and Zoho's
// revocation. The canaries are the values the emulators recorded in the echoed requests.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import type pino from "pino";
import { flushAuditBuffer } from "@/lib/audit/audit-buffer";
import type { ConsentOutcome } from "@/lib/consent/complete-consent";
import { generateSelfSignedCertificate } from "@/lib/crypto/certificates";
import { createLogger } from "@/lib/logger";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { createWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { WEBHOOK_EVENTS } from "@/lib/webhooks/events";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { createBacklogEmulator, type BacklogEmulator } from "../fixtures/backlog-emulator";
import {
  type BaseEmulator,
  type RecordedRequest,
  type TokenFault,
  echoOf,
  faults,
  followAuthorize,
} from "../fixtures/http-emulator";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import { createZohoEmulator, type ZohoEmulator } from "../fixtures/zoho-emulator";
import { api, newApiKey, type TestKey } from "../helpers/api";
import {
  authorizeAt,
  callbackFor,
  deliverCallback,
  expectLoopbackAllowance,
  newConnection,
  newOrg,
  startFlow,
} from "../helpers/consent";
import { describeEachDb, dumpAllRows, sqliteRawBytes } from "../helpers/db";
import { connectViaConsent, SYSTEM, storedTokens } from "../helpers/lifecycle";

const MS = "microsoft-365-management";
const GENERIC = "generic-oauth2";
const TENANT = {
  tid: "41463f53-8812-40f4-890f-865bf6e35190",
  name: "Contoso, Inc.",
  adminUpn: "admin@contoso.onmicrosoft.com",
  adminName: "John Doe",
};
/** a recognisable secret whose 12-character prefix is random (so a prefix found means this value leaked) */
const canary = (label: string) => `${crypto.randomBytes(10).toString("hex")}-${label}`;
const MS_APP = { clientId: "2d4d11a2-f814-46a7-890a-274a72a7309e", clientSecret: `${canary("ms-secret")}~+/ &=` };
const CERT_APP = { clientId: "a6099727-6b7b-482c-b509-1df309acc563" };
const SECRET_APP = { clientId: "5b7c3d9e-1f2a-4b6c-8d0e-2f4a6b8c0d1e", clientSecret: `${canary("app-secret")}~.` };
const WEBEX = { clientId: `C${crypto.randomBytes(16).toString("hex")}`, clientSecret: canary("webex-secret") };
const BACKLOG = { space: "acme.backlog.com", apiKey: crypto.randomBytes(30).toString("base64url") };
const ZOHO = { clientId: "1000.ZOHOCLIENT0001", clientSecret: canary("zoho-secret"), dc: "eu", org: "10234695" };
const OP_SECRET = `${canary("op-basic")}+/=:&%~ `;

/** How an echoing provider answers: the four shapes of faults.echo, and an `error` cut to 200 characters. */
const ECHOES: Array<{ name: string; fault: (status?: number) => TokenFault }> = [
  ...(["error", "error_description", "json", "html"] as const).map((where) => ({
    name: `echo in ${where}`,
    fault: (status?: number) => faults.echo(where, status),
  })),
  {
    // what the fault experiments met: short enough to pass the old 200-character check as an error code
    name: "echo in error, cut to 200 characters",
    fault: (status = 400) => ({
      status,
      body: (req: RecordedRequest) => ({
        error: `${req.headers.authorization ?? ""} ${req.rawBody}`.trim().slice(0, 200),
      }),
    }),
  },
];
/** A test endpoint that echoes into a 200 answer: every field Consentry picks (summary, account name, e-mail, id). */
const echoInto = (fields: string[]) => (req: RecordedRequest) =>
  Object.fromEntries(fields.map((f) => [f, f === "emails" ? [echoOf(req)] : echoOf(req)]));

let azure: AzureAdEmulator;
let op: OidcServer;
let webex: WebexEmulator;
let backlog: BacklogEmulator;
let zoho: ZohoEmulator;
let cert: { certificatePem: string; privateKeyPem: string };

// The process logger, swapped for one writing into memory at every level (lib/logger.ts's hook).
const logLines: string[] = [];
const g = globalThis as unknown as { __consentryLogger?: pino.Logger };
let previousLogger: pino.Logger | undefined;

beforeAll(async () => {
  expectLoopbackAllowance(true);
  previousLogger = g.__consentryLogger;
  g.__consentryLogger = createLogger({ write: (line: string) => void logLines.push(line) });
  g.__consentryLogger.level = "trace";
  cert = await generateSelfSignedCertificate({ commonName: "Consentry echo canary" });
  [azure, op, webex, backlog, zoho] = await Promise.all([
    createAzureAdEmulator({
      tenants: [TENANT],
      apps: [
        { ...MS_APP, redirectUris: [callbackFor(MS)] },
        { ...CERT_APP, certificatePem: cert.certificatePem, redirectUris: [callbackFor(MS)] },
        { ...SECRET_APP, redirectUris: [callbackFor(MS)] },
      ],
      defaultSignIn: { tid: TENANT.tid, decision: "approve" },
    }),
    createOidcServer({
      redirectUris: [callbackFor(GENERIC)],
      clientSecrets: { basic: OP_SECRET },
      ttl: { AccessToken: 3600, RefreshToken: 7200 },
    }),
    createWebexEmulator({ integrations: [{ ...WEBEX, redirectUris: [callbackFor("webex")] }] }),
    createBacklogEmulator({ clients: [], space: BACKLOG.space, apiKeys: [BACKLOG.apiKey] }),
    createZohoEmulator({
      clients: [{ ...ZOHO, redirectUris: [callbackFor("zoho-inventory")] }],
      accountsServer: `https://accounts.zoho.${ZOHO.dc}`,
      apiDomain: `https://www.zohoapis.${ZOHO.dc}`,
    }),
  ]);
  setProviderHostOverridesForTests({
    "https://login.windows.net": azure.url,
    "https://manage.office.com": azure.url,
    "https://webexapis.com": webex.url,
    [`https://${BACKLOG.space}`]: backlog.url,
    [`https://accounts.zoho.${ZOHO.dc}`]: zoho.url,
    [`https://www.zohoapis.${ZOHO.dc}`]: zoho.url,
  });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  g.__consentryLogger = previousLogger;
  await Promise.all([azure?.close(), op?.close(), webex?.close(), backlog?.close(), zoho?.close()]);
});

/** The secret values an echoed request carried: form fields, the API key in the query, the Authorization credentials. */
function secretsOf(req: RecordedRequest): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const k of ["code", "code_verifier", "refresh_token", "client_secret", "client_assertion", "token"])
    if (req.form[k]) found.push([k, req.form[k]!]);
  if (req.query.apiKey) found.push(["apiKey", req.query.apiKey]);
  const auth = /^(\S+)\s+(.+)$/.exec(req.headers.authorization ?? "");
  if (auth) found.push([`authorization (${auth[1]!.toLowerCase()})`, auth[2]!]);
  return found;
}

/**
 * The spellings of a secret to look for, and a 12-character piece of it: its start, except where the
 * start is not secret — a JWT's header (from its signature then), Basic credentials' client id (their end).
 */
function probesOf(label: string, secret: string): string[] {
  const jwt = /^eyJ[\w-]+\.[\w-]+\.[\w-]{12,}/.test(secret);
  const piece = jwt
    ? secret.split(".")[2]!.slice(0, 12)
    : label.includes("(basic)")
      ? secret.slice(-12)
      : secret.slice(0, 12);
  return [
    ...new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ v: secret }).toString().slice(2),
      JSON.stringify(secret).slice(1, -1),
      piece,
    ]),
  ];
}

function pgDump(url: string): string {
  const u = new URL(url);
  const args = [
    "-h",
    u.hostname,
    "-p",
    u.port || "5432",
    "-U",
    decodeURIComponent(u.username) || "postgres",
    "--no-owner",
    u.pathname.slice(1),
  ];
  return execFileSync("pg_dump", args, {
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) },
  });
}

describeEachDb("a provider that echoes every request: no canary is kept anywhere", (getDb) => {
  let organizationId: string;
  let key: TestKey;
  /** label → value of every secret an echoed request carried, plus the configured ones */
  const canaries = new Map<string, string>();
  /** everything handed back to a caller: REST API answers and consent outcomes */
  const answers: string[] = [];
  const outcomes: ConsentOutcome[] = [];
  const recorded = new Set<RecordedRequest>();
  const connections: string[] = [];
  let echoed = 0;

  /** the canaries of the requests `emu` answered with a fault since the last call */
  function collect(emu: BaseEmulator, what: string) {
    for (const req of emu.requests) {
      if (!req.fault || recorded.has(req)) continue;
      recorded.add(req);
      echoed += 1;
      for (const [label, value] of secretsOf(req)) canaries.set(`${what}: ${label} #${echoed}`, value);
    }
  }

  const call = async (method: string, path: string) => {
    const res = await api(getDb().db, method, path, { key: key.key });
    answers.push(res.text);
    return res;
  };

  /** an answer carries no canary collected so far (soft: the flows go on, so the final scan sees them all) */
  function expectClean(text: string, where: string) {
    for (const [label, value] of canaries) {
      for (const p of probesOf(label, value))
        expect.soft(text.includes(p), `${label} (as ${p.slice(0, 16)}…) in ${where}`).toBe(false);
    }
  }

  beforeAll(async () => {
    const { db } = getDb();
    // the emulators serve both engines' suites: start each with its own recording
    for (const emu of [azure, op, webex, backlog, zoho]) emu.resetRecording();
    organizationId = (await newOrg(db, "Echo")).id;
    key = await newApiKey(db, organizationId);
    // subscribed to everything, never delivered: the queued payloads are part of the scan
    await createWebhookEndpoint({
      db,
      organizationId,
      actor: SYSTEM,
      input: { url: "http://127.0.0.1:9/hook", events: [...WEBHOOK_EVENTS] },
    });
    const configured = {
      MS_SECRET: MS_APP.clientSecret,
      SECRET_APP: SECRET_APP.clientSecret,
      WEBEX_SECRET: WEBEX.clientSecret,
      BACKLOG_KEY: BACKLOG.apiKey,
    };
    for (const [label, value] of Object.entries({ ...configured, ZOHO_SECRET: ZOHO.clientSecret, OP_SECRET }))
      canaries.set(label, value);
  });

  it("code exchange: Microsoft (secret in the body) and a generic provider (HTTP Basic + PKCE)", async () => {
    const { db } = getDb();
    const ms = await newConnection(db, organizationId, {
      provider: MS,
      oauth_app: { client_id: MS_APP.clientId, client_secret: MS_APP.clientSecret },
    });
    const generic = await newConnection(db, organizationId, {
      provider: GENERIC,
      settings: {
        authorization_url: op.endpoints.authorization,
        token_url: op.endpoints.token,
        client_auth: "client_secret_basic",
      },
      scopes: ["openid", "offline_access"],
      oauth_app: op.clients.basic,
    });
    connections.push(ms.id, generic.id);
    for (const echo of ECHOES) {
      for (const [emu, c, authorize] of [
        [azure, ms, (u: string) => authorizeAt(u)],
        [op, generic, (u: string) => op.authorize(u)],
      ] as const) {
        const flow = await startFlow(db, organizationId, c.id);
        const callback = await authorize(flow.authorizationUrl);
        emu.failNext(echo.fault());
        const outcome = await deliverCallback(db, callback, flow.browserSecret);
        collect(emu, `code exchange, ${echo.name}`);
        expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: false });
        outcomes.push(outcome);
      }
    }
    expect(echoed).toBe(2 * ECHOES.length);
    for (const kind of ["code", "code_verifier", "client_secret", "authorization (basic)"]) {
      expect(
        [...canaries.keys()].some((k) => k.includes(`: ${kind} #`)),
        kind,
      ).toBe(true);
    }
    for (const o of outcomes) expectClean(JSON.stringify(o), "the consent outcome (result page)");
    // an echo where the error code belongs is no code: shown as invalid_response, nothing of the echo
    expect(outcomes.filter((o) => !o.ok && o.providerError === "invalid_response").length).toBeGreaterThanOrEqual(4);
  });

  it("the consent callback's own error and error_description echoing the authorization request (state included)", async () => {
    const { db } = getDb();
    const c = await newConnection(db, organizationId, {
      provider: MS,
      oauth_app: { client_id: MS_APP.clientId, client_secret: MS_APP.clientSecret },
    });
    connections.push(c.id);
    const cases: Array<
      [string, (state: string, echo: string) => { error: string; error_description?: string }, string]
    > = [
      // made of code characters, so only the redactor tells it from a code
      ["error holding the state", (state) => ({ error: `invalid_request:${state}` }), "invalid_response"],
      ["error echoing the request", (_, echo) => ({ error: echo.slice(0, 200) }), "invalid_response"],
      [
        "error_description echoing the request",
        (_, echo) => ({ error: "invalid_request", error_description: `Bad request: ${echo}` }),
        "invalid_request",
      ],
    ];
    for (const [name, decision, shown] of cases) {
      const flow = await startFlow(db, organizationId, c.id);
      const state = new URL(flow.authorizationUrl).searchParams.get("state")!;
      canaries.set(`callback state (${name})`, state);
      azure.setNextSignIn({ tid: TENANT.tid, decision: decision(state, `GET ${flow.authorizationUrl}`) });
      const outcome = await deliverCallback(db, await authorizeAt(flow.authorizationUrl), flow.browserSecret);
      expect.soft(outcome, name).toMatchObject({ ok: false, reason: "provider_error", providerError: shown });
      if (!outcome.ok && shown === "invalid_request")
        expect.soft(outcome.providerDescription).toContain("Bad request: GET ");
      outcomes.push(outcome);
      expectClean(JSON.stringify(outcome), "the consent outcome (result page)");
    }
  });

  it("refresh: Microsoft (refresh token + client secret) and generic through the REST API's token endpoint (refresh token + Basic)", async () => {
    const t = getDb();
    const ms = await connectViaConsent({
      db: t.db,
      organizationId,
      provider: MS,
      app: { client_id: MS_APP.clientId, client_secret: MS_APP.clientSecret },
      authorize: (u) => followAuthorize(u, { origins: [azure.url] }),
    });
    const generic = await connectViaConsent({
      db: t.db,
      organizationId,
      provider: GENERIC,
      settings: {
        authorization_url: op.endpoints.authorization,
        token_url: op.endpoints.token,
        client_auth: "client_secret_basic",
      },
      scopes: ["openid", "offline_access"],
      app: op.clients.basic,
      authorize: (u) => op.authorize(u),
    });
    connections.push(ms.connectionId, generic.connectionId);
    const msTokens = await storedTokens(t.db, ms.connectionId);
    canaries.set("Microsoft access token (stored)", msTokens.accessToken!);
    const before = echoed;
    for (const echo of ECHOES) {
      azure.failNext(echo.fault());
      const outcome = await refreshConnection({ db: t.db, connectionId: ms.connectionId, reason: "on_demand" });
      collect(azure, `refresh, ${echo.name}`);
      expect(outcome).toMatchObject({ result: "failed" });
      answers.push(JSON.stringify(outcome));

      // the REST API finds the token expired, refreshes, and answers the failure
      await t.db.connection.update({
        where: { id: generic.connectionId },
        data: { expiresAt: new Date(Date.now() - 1000) },
      });
      op.failNext(echo.fault(502));
      const res = await call("POST", `/api/v1/connections/${generic.connectionId}/token`);
      collect(op, `token endpoint refresh, ${echo.name}`);
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
    }
    expect(echoed - before).toBe(2 * ECHOES.length);
    expect([...canaries.keys()].some((k) => k.includes("refresh_token"))).toBe(true);
    expect((await t.db.connection.findUniqueOrThrow({ where: { id: ms.connectionId } })).lastErrorCode).toBe(
      "invalid_response",
    );
  });

  it("app-only tokens: certificate assertion and client secret, through the REST API", async () => {
    const { db } = getDb();
    const certificate = { certificate_pem: cert.certificatePem, private_key_pem: cert.privateKeyPem };
    const withCert = await newConnection(db, organizationId, {
      provider: MS,
      oauth_app: { client_id: CERT_APP.clientId, certificate },
    });
    const secretApp = { client_id: SECRET_APP.clientId, client_secret: SECRET_APP.clientSecret };
    const withSecret = await newConnection(db, organizationId, { provider: MS, oauth_app: secretApp });
    // as after consent: the tenant is known (the echoing server never gets far enough to check consent)
    for (const c of [withCert, withSecret])
      await db.connection.update({ where: { id: c.id }, data: { externalTenantId: TENANT.tid, status: "active" } });
    connections.push(withCert.id, withSecret.id);
    const before = echoed;
    for (const echo of ECHOES) {
      for (const c of [withCert, withSecret]) {
        azure.failNext(echo.fault());
        const res = await call("POST", `/api/v1/connections/${c.id}/app-token`);
        collect(azure, `app-only, ${echo.name}`);
        expect(res.status, res.text).toBeGreaterThanOrEqual(400);
        expectClean(res.text, "an app-token answer");
      }
    }
    expect(echoed - before).toBe(2 * ECHOES.length);
    expect([...canaries.keys()].some((k) => k.includes("client_assertion"))).toBe(true);
  });

  it("test calls: Webex (access token in the header) and Backlog (API key in the query) echoing into every field they read", async () => {
    const t = getDb();
    const wx = await connectViaConsent({
      db: t.db,
      organizationId,
      provider: "webex",
      app: { client_id: WEBEX.clientId, client_secret: WEBEX.clientSecret },
      authorize: (u) => followAuthorize(u, { origins: [webex.url] }),
    });
    const bl = await newConnection(t.db, organizationId, {
      provider: "backlog-api-key",
      settings: { space: BACKLOG.space },
      api_key: BACKLOG.apiKey,
    });
    connections.push(wx.connectionId, bl.id);
    const cases: Array<[BaseEmulator, string, string, string[]]> = [
      [webex, wx.connectionId, "/v1/people/me", ["id", "displayName", "emails", "orgId"]],
      [backlog, bl.id, "/api/v2/users/myself", ["id", "userId", "name", "mailAddress"]],
    ];
    const before = echoed;
    for (const [emu, connectionId, path, fields] of cases) {
      const shapes: TokenFault[] = [
        { path, status: 200, body: echoInto(fields) },
        ...ECHOES.map((e) => ({ ...e.fault(401), path })),
      ];
      for (const fault of shapes) {
        emu.failNext(fault);
        const res = await call("POST", `/api/v1/connections/${connectionId}/test`);
        collect(emu, `test call ${path}`);
        expect(res.status, res.text).toBe(200);
        expectClean(res.text, "a test answer");
      }
      // the 200 echo was read: the account fields hold what is left of the echo
      const c = await t.db.connection.findUniqueOrThrow({ where: { id: connectionId } });
      expect.soft(c.accountName ?? c.accountId).toContain("[redacted]");
    }
    expect(echoed - before).toBe(2 * (1 + ECHOES.length));
  });

  it("revocation: Zoho's revoke endpoint echoing the refresh token", async () => {
    const { db } = getDb();
    const before = echoed;
    for (const echo of ECHOES) {
      const c = await newConnection(db, organizationId, {
        provider: "zoho-inventory",
        settings: { data_centre: ZOHO.dc, organization_id: ZOHO.org },
        oauth_app: { client_id: ZOHO.clientId, client_secret: ZOHO.clientSecret },
      });
      connections.push(c.id);
      const flow = await startFlow(db, organizationId, c.id);
      expect(
        await deliverCallback(
          db,
          await authorizeAt(flow.authorizationUrl, { origins: [zoho.url] }),
          flow.browserSecret,
        ),
      ).toMatchObject({ ok: true });
      zoho.failNext({ ...echo.fault(), path: "/oauth/v2/token/revoke" });
      const res = await call("DELETE", `/api/v1/connections/${c.id}`);
      collect(zoho, `revocation, ${echo.name}`);
      expect(res.status, res.text).toBeLessThan(300);
    }
    expect(echoed - before).toBe(ECHOES.length);
    expect([...canaries.keys()].some((k) => k.includes(": token #"))).toBe(true);
  });

  it("no canary in any row, the database file or dump, a log line, an API answer, a webhook payload or a consent outcome", async () => {
    const t = getDb();
    for (const id of connections) await call("GET", `/api/v1/connections/${id}`);
    const list = await call("GET", "/api/v1/connections?limit=100");
    expect(list.status).toBe(200);
    await flushAuditBuffer();

    const dump = await dumpAllRows(t);
    const webhooks = (await t.db.webhookDelivery.findMany({ where: { organizationId } }))
      .map((d) => d.payload)
      .join("\n");
    const raw = t.kind === "sqlite" ? sqliteRawBytes(t.url).toString("latin1") : pgDump(t.url);
    const sinks: Record<string, string> = {
      rows: dump.text,
      [t.kind === "sqlite" ? "the SQLite file" : "pg_dump"]: raw,
      logs: logLines.join(""),
      "API answers": answers.join("\n"),
      "webhook payloads": webhooks,
      "consent outcomes": JSON.stringify(outcomes),
    };

    // positive controls: each sink holds what the flows above produced, so an empty scan cannot pass
    expect(echoed).toBeGreaterThanOrEqual(9 * ECHOES.length);
    expect(canaries.size).toBeGreaterThanOrEqual(30);
    expect(dump.text).toContain("invalid_response");
    expect(raw).toContain("invalid_response");
    expect(sinks.logs).toContain("consent token request failed");
    expect(webhooks).toContain("connection.refresh_failed");
    expect(answers.length).toBeGreaterThanOrEqual(30);

    const byValue = new Map([...canaries].map(([label, value]) => [value, label]));
    const leaks: string[] = [];
    for (const [sink, text] of Object.entries(sinks)) {
      for (const [value, label] of byValue) {
        for (const p of probesOf(label, value))
          if (text.includes(p)) leaks.push(`${label} in ${sink} (as ${p.slice(0, 16)}…)`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
