// Several production-server instances (`node --import tsx lib/cli/start.ts`) on one database, as a load
// balancer would run them:
// - with CONSENTRY_REDIS_URL (the machine's Redis, under a key prefix of this run's own) two instances
//   share one API rate limit: 2L calls alternating between them get exactly L 200s, then 429s with
//   Retry-After; without Redis each instance has its own budget (2L 200s: per process, as documented);
// - the app-only token cache is shared: two token requests on two instances cost the authorization
//   server one client-credentials call, and Redis holds the token sealed, never as plaintext;
// - behind a trusted proxy (CONSENTRY_TRUSTED_PROXIES) X-Forwarded-For names the client (the right-most
//   address that is not a trusted proxy), and the per-address limits (failed authentications in the
//   API, consent starts in the portal) count that address across instances; from a peer that is not
//   trusted, a spoofed X-Forwarded-For changes nothing;
// - Redis going away (a private redis-server, killed mid-test): every call is still answered, no 5xx,
//   no lost token, and each instance limits on its own.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { createDb, type Db } from "@/lib/db/client";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { ensureProductionBuild } from "../bench/api-server";
import { createAzureAdEmulator, type AzureAdEmulator } from "../fixtures/azure-ad-emulator";
import { cloneTemplate, dbKinds } from "../helpers/db";
import { startFaultServer, type FaultServer } from "../helpers/fault-server";
import { seedOrg } from "../helpers/factories";
import { newApiKey, unknownKey, type TestKey } from "../helpers/api";
import { CONSENT_STARTS_PER_MINUTE } from "@/lib/limits/consent-start-limit";
import {
  SHARED_REDIS_URL,
  removeKeys,
  startPrivateRedis,
  uniquePrefix,
  type PrivateRedis,
} from "../helpers/private-redis";

const TIMEOUT = 300_000;
/** calls a minute per API key on every instance of this file */
const L = 5;
/** failed authentications per client address */
const FAILURES = 3;
const PROVIDER = "microsoft-365-management";
const TENANT = {
  tid: "5b1f4a3e-2c6d-4e8f-9a0b-1c2d3e4f5a6b",
  name: "Fabrikam",
  adminUpn: "admin@fabrikam.onmicrosoft.com",
  adminName: "Fabrikam Admin",
};
const APP = {
  clientId: "0c8a1d2e-3f4b-4c5d-8e6f-7a8b9c0d1e2f",
  clientSecret: `app~${crypto.randomBytes(8).toString("hex")}`,
};

type Answer = { status: number; retryAfter: string | null; body: string };

async function call(
  server: FaultServer,
  method: string,
  path: string,
  { key, forwardedFor, requestId }: { key: string; forwardedFor?: string; requestId?: string },
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (forwardedFor) headers["x-forwarded-for"] = forwardedFor;
  if (requestId) headers["x-request-id"] = requestId;
  const res = await fetch(`${server.url}${path}`, { method, headers });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.text() };
}

const list = (server: FaultServer, key: string) => call(server, "GET", "/api/v1/providers", { key });

/** `n` calls with one key, alternating between the instances, one after another. */
async function alternate(servers: FaultServer[], key: string, n: number): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < n; i++) out.push(await list(servers[i % servers.length]!, key));
  return out;
}

/** 429 rate-limited with a Retry-After within the window (a minute for the API's budgets; the failed-authentication window is 300 s) */
function expectLimited(a: Answer, windowSeconds = 60) {
  expect(a.status, a.body).toBe(429);
  expect(JSON.parse(a.body)).toMatchObject({ status: 429, type: expect.stringMatching(/rate-limited$/) });
  const retryAfter = Number(a.retryAfter);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
}

/** The client address the audit trail recorded for a request id (audit rows are written in batches). */
async function auditedIp(db: Db, requestId: string): Promise<string | null> {
  for (let i = 0; i < 200; i++) {
    const row = await db.auditEvent.findFirst({ where: { requestId }, select: { ip: true } });
    if (row) return row.ip;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no audit row for request ${requestId}`);
}

let buildError: string | null = null;
let emu: AzureAdEmulator;

beforeAll(async () => {
  buildError = ensureProductionBuild((s) => process.stderr.write(`${s}\n`));
  if (buildError) process.stderr.write(`SKIPPING the several-instances test: ${buildError}\n`);
  emu = await createAzureAdEmulator({
    tenants: [TENANT],
    apps: [{ ...APP, redirectUris: ["http://127.0.0.1/unused"] }],
    defaultSignIn: { tid: TENANT.tid, decision: "approve" },
  });
  emu.grantConsent(TENANT.tid, APP.clientId);
}, 20 * 60_000);
afterAll(async () => emu?.close());

for (const kind of dbKinds()) {
  describe(`several instances [${kind}]`, { timeout: TIMEOUT }, () => {
    const prefix = uniquePrefix(kind);
    let db: Db;
    let dropDb: () => Promise<void>;
    let organizationId: string;
    let appConnectionId: string;
    /** A and B share Redis and trust the loopback "proxy" (this test); C and D have no Redis and trust nobody. */
    let a: FaultServer, b: FaultServer, c: FaultServer, d: FaultServer;
    let privateRedis: PrivateRedis | undefined;
    const extra: FaultServer[] = [];

    const start = (env: Record<string, string>) =>
      startFaultServer({
        databaseUrl: dbUrl,
        env: {
          CONSENTRY_API_RATE_PER_KEY: String(L),
          CONSENTRY_API_AUTH_FAILURES_PER_IP: String(FAILURES),
          CONSENTRY_PROVIDER_HOSTS: JSON.stringify({ "https://login.windows.net": emu.url }),
          ...env,
        },
      });
    let dbUrl: string;

    beforeAll(async () => {
      if (buildError) return;
      const scratch = await cloneTemplate(kind);
      dbUrl = scratch.url;
      dropDb = scratch.drop;
      db = createDb(scratch.url);
      organizationId = (await seedOrg(db)).id;
      const app = await saveOAuthApp({
        db,
        organizationId,
        input: { providerId: PROVIDER, name: "Fabrikam app", clientId: APP.clientId, clientSecret: APP.clientSecret },
        actor: { type: "system", label: "test" },
      });
      appConnectionId = (
        await db.connection.create({
          data: {
            organizationId,
            providerId: PROVIDER,
            oauthAppId: app.id,
            name: "Fabrikam audit log",
            status: "active",
            externalTenantId: TENANT.tid,
            connectedAt: new Date(),
          },
        })
      ).id;
      const redis = { CONSENTRY_REDIS_URL: SHARED_REDIS_URL, CONSENTRY_REDIS_PREFIX: prefix };
      const proxies = { CONSENTRY_TRUSTED_PROXIES: "127.0.0.0/8, ::1" };
      [a, b, c, d] = await Promise.all([
        start({ ...redis, ...proxies }),
        start({ ...redis, ...proxies }),
        start({}),
        start({}),
      ]);
    }, TIMEOUT);

    afterAll(async () => {
      await Promise.all([a, b, c, d, ...extra].map((s) => s?.dispose()));
      await privateRedis?.kill();
      await db?.$disconnect();
      await dropDb?.();
      await removeKeys(SHARED_REDIS_URL, prefix);
    }, 60_000);

    it(`two instances sharing Redis: ${2 * L} calls alternating between them → exactly ${L} 200s, then 429 with Retry-After`, async (ctx) => {
      if (buildError) return ctx.skip();
      const key = await newApiKey(db, organizationId);
      const answers = await alternate([a, b], key.key, 2 * L);
      expect(answers.map((x) => x.status)).toEqual([...Array(L).fill(200), ...Array(L).fill(429)]);
      for (const x of answers.slice(L)) expectLimited(x);
      // the budget lives in Redis, under this deployment's prefix (past the limit each instance refuses from memory)
      const r = new Redis(SHARED_REDIS_URL);
      try {
        expect(Number(await r.get(`${prefix}limit:api-key:${key.id}`))).toBeGreaterThan(L);
      } finally {
        r.disconnect();
      }
    });

    it(`two instances without Redis: each has its own budget (${2 * L} calls alternating → ${2 * L} 200s; the next on each → 429)`, async (ctx) => {
      if (buildError) return ctx.skip();
      const key = await newApiKey(db, organizationId);
      const answers = await alternate([c, d], key.key, 2 * L);
      expect(answers.map((x) => x.status)).toEqual(Array(2 * L).fill(200));
      expectLimited(await list(c, key.key));
      expectLimited(await list(d, key.key));
    });

    it("the app-only token cache is shared: two instances, one client-credentials call; Redis holds the token sealed", async (ctx) => {
      if (buildError) return ctx.skip();
      const key = await newApiKey(db, organizationId);
      const before = emu.counters.clientCredentials;
      const path = `/api/v1/connections/${appConnectionId}/app-token`;
      const first = await call(a, "POST", path, { key: key.key });
      expect(first.status, first.body).toBe(200);
      const second = await call(b, "POST", path, { key: key.key });
      expect(second.status, second.body).toBe(200);
      const token = (JSON.parse(first.body) as { access_token: string }).access_token;
      expect((JSON.parse(second.body) as { access_token: string }).access_token).toBe(token);
      expect(emu.counters.clientCredentials - before).toBe(1);

      const r = new Redis(SHARED_REDIS_URL);
      try {
        const keys = await r.keys(`${prefix}app-token:*`);
        expect(keys).toHaveLength(1);
        const stored = (await r.get(keys[0]!))!;
        expect(stored).not.toContain(token);
        expect(stored).not.toContain(token.split(".")[1]!); // not even the JWT's claims
        expect(JSON.parse(stored)).toMatchObject({ token: expect.stringMatching(/^enc1\./) });
        // it lives until five minutes before the token expires
        const expiresAt = Date.parse((JSON.parse(first.body) as { expires_at: string }).expires_at);
        const ttl = await r.pttl(keys[0]!);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(expiresAt - 300_000 - Date.now() + 1000);
      } finally {
        r.disconnect();
      }
    });

    it("behind a trusted proxy: X-Forwarded-For names the client (right-most untrusted); from an untrusted peer it is ignored", async (ctx) => {
      if (buildError) return ctx.skip();
      const key = await newApiKey(db, organizationId);
      const id = () => `req-${crypto.randomBytes(8).toString("hex")}`;
      const client = `198.51.100.${kind === "sqlite" ? 10 : 20}`;
      // A trusts 127.0.0.0/8: the proxy chain is skipped, the spoofed entry left of the client's own address is not believed
      const r1 = id();
      const viaProxy = await call(a, "GET", "/api/v1/providers", {
        key: key.key,
        forwardedFor: `192.0.2.66, ${client}, 127.0.0.9`,
        requestId: r1,
      });
      expect(viaProxy.status, viaProxy.body).toBe(200);
      expect(await auditedIp(db, r1)).toBe(client);
      // C trusts nobody: the socket peer, whatever the header says
      const r2 = id();
      const spoofed = await call(c, "GET", "/api/v1/providers", { key: key.key, forwardedFor: client, requestId: r2 });
      expect(spoofed.status, spoofed.body).toBe(200);
      expect(await auditedIp(db, r2)).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    });

    it("the failed-authentication limit counts the forwarded address, across instances: one client locked out on both, its neighbour behind the same proxy served", async (ctx) => {
      if (buildError) return ctx.skip();
      const key = await newApiKey(db, organizationId);
      const n = kind === "sqlite" ? 30 : 40;
      const attacker = `203.0.113.${n}`;
      const neighbour = `203.0.113.${n + 1}`;
      const statuses: number[] = [];
      for (let i = 0; i < FAILURES; i++)
        statuses.push(
          (await call(i % 2 ? b : a, "GET", "/api/v1/providers", { key: unknownKey(), forwardedFor: attacker })).status,
        );
      expect(statuses).toEqual(Array(FAILURES).fill(401));
      // locked out on both instances, even with a valid key: at once where the lockout was counted (A), and on B
      // as soon as A's announcement has arrived (B counted one failure of three: on its own it would never lock)
      const refusedByA = await call(a, "GET", "/api/v1/providers", { key: key.key, forwardedFor: attacker });
      let refusedByB = await call(b, "GET", "/api/v1/providers", { key: key.key, forwardedFor: attacker });
      for (let i = 0; refusedByB.status === 200 && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        refusedByB = await call(b, "GET", "/api/v1/providers", { key: key.key, forwardedFor: attacker });
      }
      for (const refused of [refusedByA, refusedByB]) {
        expectLimited(refused, 300);
        expect(refused.body).toMatch(/Too many failed authentications/);
      }
      // the neighbour behind the same proxy is served, and its own failures are its own
      expect((await call(b, "GET", "/api/v1/providers", { key: key.key, forwardedFor: neighbour })).status).toBe(200);
      expect((await call(a, "GET", "/api/v1/providers", { key: unknownKey(), forwardedFor: neighbour })).status).toBe(
        401,
      );
    });

    it("consent starts per address (in the portal process) are shared too, and count the forwarded address", async (ctx) => {
      if (buildError) return ctx.skip();
      const start = (server: FaultServer, forwardedFor: string) =>
        fetch(`${server.url}/consent/${crypto.randomBytes(16).toString("base64url")}/start`, {
          method: "POST",
          redirect: "manual",
          headers: { "x-forwarded-for": forwardedFor },
        });
      const n = kind === "sqlite" ? 70 : 80;
      const statuses: number[] = [];
      for (let i = 0; i <= CONSENT_STARTS_PER_MINUTE; i++)
        statuses.push((await start(i % 2 ? b : a, `203.0.113.${n}`)).status);
      // an unknown link sends the browser back to its page (303); the 31st start in a minute from one address is refused
      expect(statuses).toEqual([...Array(CONSENT_STARTS_PER_MINUTE).fill(303), 429]);
      const refused = await start(a, `203.0.113.${n}`);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((await start(b, `203.0.113.${n + 1}`)).status).toBe(303);
    });

    it("from a peer that is not a trusted proxy, a spoofed X-Forwarded-For does not escape the per-address limit", async (ctx) => {
      if (buildError) return ctx.skip();
      const key = await newApiKey(db, organizationId);
      // every failure counts against the peer (127.0.0.1), whichever address the header claims
      const statuses: number[] = [];
      for (let i = 0; i <= FAILURES; i++)
        statuses.push(
          (await call(c, "GET", "/api/v1/providers", { key: unknownKey(), forwardedFor: `192.0.2.${100 + i}` })).status,
        );
      expect(statuses).toEqual([...Array(FAILURES).fill(401), 429]);
      expectLimited(await call(c, "GET", "/api/v1/providers", { key: key.key, forwardedFor: "192.0.2.200" }), 300);
    });

    it("Redis goes away: every call is still answered (no 5xx, tokens served) and each instance limits on its own", async (ctx) => {
      if (buildError) return ctx.skip();
      privateRedis = await startPrivateRedis();
      const env = { CONSENTRY_REDIS_URL: privateRedis.url, CONSENTRY_REDIS_PREFIX: prefix };
      const [e, f] = await Promise.all([start(env), start(env)]);
      extra.push(e, f);
      const shared = await newApiKey(db, organizationId);
      expect((await alternate([e, f], shared.key, 2 * L)).map((x) => x.status)).toEqual([
        ...Array(L).fill(200),
        ...Array(L).fill(429),
      ]);

      await privateRedis.kill();
      const key: TestKey = await newApiKey(db, organizationId);
      const answers = await alternate([e, f], key.key, 2 * L);
      expect(answers.map((x) => x.status)).toEqual(Array(2 * L).fill(200));
      expectLimited(await list(e, key.key));
      expectLimited(await list(f, key.key));
      // the token endpoints too: E has no app-only token of its own yet and asks the authorization server
      const other = await newApiKey(db, organizationId);
      const t = await call(e, "POST", `/api/v1/connections/${appConnectionId}/app-token`, { key: other.key });
      expect(t.status, t.body).toBe(200);
      expect(JSON.parse(t.body)).toMatchObject({ token_type: "Bearer", tenant_id: TENANT.tid });
      // and a failed authentication is still counted (in memory) rather than failing
      expect((await call(f, "GET", "/api/v1/providers", { key: unknownKey() })).status).toBe(401);
    });
  });
}
