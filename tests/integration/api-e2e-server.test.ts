// End to end, as a downstream job would use Consentry: the PRODUCTION server (`node --import tsx lib/cli/start.ts`,
// which answers /api/v1 in front of Next) on each engine; the CLI creates an API key (stdout = the
// key); POST /api/v1/connections (generic provider → a real authorization server, oidc-provider);
// the tenant admin follows consent_url (landing page, the form's POST, the OP, the callback, with a
// cookie jar); POST …/token returns exactly the token the OP issued; once the OP's short-lived token
// has expired there, POST …/token returns a refreshed, different token that the OP accepts.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { CookieJar, followAuthorize, httpRequest } from "../fixtures/http-emulator";
import { captureNextTokenResponse } from "../helpers/consent";
import { cloneTemplate, dbKinds, type DbKind } from "../helpers/db";
import { K1 } from "../helpers/keyring";
import { TMP_ROOT } from "../helpers/paths";
import { ensureProductionBuild, freePort, runCli, startProductionServer, type ServerHandle } from "../bench/api-server";

const TIMEOUT = 180_000;
const GENERIC = "generic-oauth2";

let op: OidcServer;
let buildError: string | null = null;
const ports = new Map<DbKind, number>();

beforeAll(async () => {
  buildError = ensureProductionBuild((s) => process.stderr.write(`${s}\n`));
  if (buildError) process.stderr.write(`SKIPPING the production-server API test: ${buildError}\n`);
  for (const kind of dbKinds()) ports.set(kind, await freePort());
  op = await createOidcServer({
    redirectUris: [...ports.values()].map((p) => `http://127.0.0.1:${p}/api/oauth/callback/${GENERIC}`),
    // short-lived access tokens, so that the test can watch one expire at the OP
    ttl: { AccessToken: 8, RefreshToken: 3600 },
  });
}, 20 * 60_000);
afterAll(async () => op?.close());

/** every process below `pid` (Linux /proc) */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp !== p) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const body = new URLSearchParams({
    token,
    client_id: op.clients.post.client_id,
    client_secret: op.clients.post.client_secret,
  }).toString();
  const res = await httpRequest(op.endpoints.introspection, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  return JSON.parse(res.body) as Record<string, unknown>;
}

for (const kind of dbKinds()) {
  describe(`a downstream job against the production server [${kind}]`, { timeout: TIMEOUT }, () => {
    let server: ServerHandle | undefined;
    let env: Record<string, string>;
    let dropDb: (() => Promise<void>) | undefined;
    let dataDir: string;
    let holdFile: string;

    beforeAll(async () => {
      if (buildError) return;
      const port = ports.get(kind)!;
      fs.mkdirSync(TMP_ROOT, { recursive: true });
      dataDir = fs.mkdtempSync(path.join(TMP_ROOT, `e2e-api-${kind}-`));
      holdFile = path.join(dataDir, "hold-portal");
      env = {
        PORT: String(port),
        CONSENTRY_URL: `http://127.0.0.1:${port}`,
        CONSENTRY_DATA_DIR: dataDir,
        CONSENTRY_PROVIDER_HOSTS: "{}",
        CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: "true",
        // no background refresh: the test decides when a token is refreshed
        CONSENTRY_REFRESH_INTERVAL_SECONDS: "0",
        CONSENTRY_TEST_PORTAL_HOLD_FILE: holdFile,
      };
      if (kind === "postgresql") {
        const scratch = await cloneTemplate("postgresql");
        dropDb = scratch.drop;
        Object.assign(env, {
          DATABASE_URL: scratch.url,
          CONSENTRY_ENCRYPTION_KEYS: K1,
          AUTH_SECRET: crypto.randomBytes(32).toString("hex"),
        });
      }
      server = await startProductionServer({ env });
    }, TIMEOUT);

    afterAll(async () => {
      await server?.stop();
      await dropDb?.();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }, 30_000);

    it("CLI key → POST /connections → consent in a browser → POST …/token = the OP's token → expired at the OP → a refreshed one", async (ctx) => {
      if (buildError) return ctx.skip();
      const base = server!.url;

      // 1. an administrator bootstraps a key with the CLI: stdout is the key and nothing else
      const slug = `downstream-${crypto.randomBytes(3).toString("hex")}`;
      const org = runCli(["org", "create", "--name", "Downstream Ltd", "--slug", slug], env);
      expect(org.status, org.stderr).toBe(0);
      const cli = runCli(
        [
          "api-key",
          "create",
          "--org",
          slug,
          "--scopes",
          "connections:read,connections:write,tokens:read,proxy",
          "--name",
          "nightly job",
        ],
        env,
      );
      expect(cli.status, cli.stderr).toBe(0);
      expect(cli.stdout).toMatch(/^csk_[A-Za-z0-9_-]{43}\n$/);
      const key = cli.stdout.trim();
      const auth = { authorization: `Bearer ${key}` };

      // 2. the job creates a connection (generic provider → the OP) and gets a consent link
      const created = await fetch(`${base}/api/v1/connections`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          provider: GENERIC,
          name: "Downstream OP",
          settings: {
            authorization_url: op.endpoints.authorization,
            token_url: op.endpoints.token,
            client_auth: "client_secret_post",
            api_base_url: op.issuer,
          },
          scopes: ["openid", "offline_access"],
          oauth_app: { client_id: op.clients.post.client_id, client_secret: op.clients.post.client_secret },
        }),
      });
      const c = (await created.json()) as {
        connection: { id: string; status: string };
        consent_url: string;
        redirect_uri: string;
      };
      expect(created.status, JSON.stringify(c)).toBe(201);
      expect(c.connection.status).toBe("pending_consent");
      expect(c.redirect_uri).toBe(`${base}/api/oauth/callback/${GENERIC}`);
      expect(c.consent_url.startsWith(`${base}/consent/`)).toBe(true);
      const id = c.connection.id;

      // 3. the tenant admin opens the link, presses the button, approves at the OP and comes back
      const jar = new CookieJar();
      const landing = await httpRequest(c.consent_url, { headers: { accept: "text/html" } });
      expect(landing.status).toBe(200);
      const action =
        /<form[^>]*method="post"[^>]*action="([^"]+)"/.exec(landing.body)?.[1] ??
        /<form[^>]*action="([^"]+)"[^>]*method="post"/.exec(landing.body)?.[1];
      expect(action, landing.body.slice(0, 500)).toMatch(/^\/consent\/[A-Za-z0-9_-]{43}\/start$/);
      const start = await httpRequest(`${base}${action}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
        body: "",
      });
      expect(start.status, start.body).toBe(303);
      jar.store(`${base}${action}`, start.headers["set-cookie"]);
      const authorizationUrl = String(start.headers.location);
      expect(authorizationUrl.startsWith(`${op.issuer}/auth?`)).toBe(true);

      op.resetRecording();
      const issued = captureNextTokenResponse(op);
      const callback = await followAuthorize(authorizationUrl, { origins: [op.issuer] });
      expect(`${callback.origin}${callback.pathname}`).toBe(c.redirect_uri);
      const cookie = jar.header(callback.toString());
      expect(cookie).toMatch(/consentry-flow=/);
      const back = await httpRequest(callback.toString(), { headers: { accept: "text/html", cookie: cookie! } });
      expect(back.status, back.body).toBe(303);
      expect(back.headers.location).toBe(`${base}/consent/result`);
      jar.store(callback.toString(), back.headers["set-cookie"]);
      const result = await httpRequest(`${base}/consent/result`, {
        headers: { accept: "text/html", cookie: jar.header(`${base}/consent/result`) ?? "" },
      });
      expect(result.status).toBe(200);
      expect(op.counters.grantsIssued).toBe(1);
      const opAccess = issued.body?.access_token as string;
      expect(opAccess).toEqual(expect.any(String));

      const detail = await fetch(`${base}/api/v1/connections/${id}`, { headers: auth });
      expect(detail.status).toBe(200);
      expect(await detail.json()).toMatchObject({ id, status: "active" });

      // 4. the job asks for a token: exactly what the OP issued, live at the OP
      const token = async () => {
        const res = await fetch(`${base}/api/v1/connections/${id}/token`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify({ min_validity: 1 }),
        });
        const text = await res.text();
        expect(res.status, text).toBe(200);
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(text).not.toMatch(/refresh_token/);
        return JSON.parse(text) as { access_token: string; expires_at: string; token_type: string };
      };
      const first = await token();
      expect(first.access_token).toBe(opAccess);
      expect(first.token_type).toBe("Bearer");
      expect(await introspect(first.access_token)).toMatchObject({
        active: true,
        client_id: op.clients.post.client_id,
      });
      expect(op.counters.refreshed).toBe(0);

      // 5. the OP's 8-second token expires there …
      // (introspection answers by the token's expiry; userinfo would accept it ~15 s longer: OP's clock tolerance)
      const expiredAtOp = async () => (await introspect(first.access_token)).active === false;
      const deadline = Date.now() + 45_000;
      while (!(await expiredAtOp())) {
        expect(Date.now(), "the OP's token did not expire").toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 500));
      }

      // … and the next call returns a refreshed, different token that the OP accepts
      const second = await token();
      expect(second.access_token).not.toBe(first.access_token);
      expect(op.counters.refreshed).toBe(1);
      expect(await introspect(second.access_token)).toMatchObject({
        active: true,
        client_id: op.clients.post.client_id,
      });
      expect(
        (await fetch(op.endpoints.userinfo, { headers: { authorization: `Bearer ${second.access_token}` } })).status,
      ).toBe(200);
      expect(new Date(second.expires_at).getTime()).toBeGreaterThan(Date.now());
      // a token still valid for the asked seconds is served again without another refresh
      expect((await token()).access_token).toBe(second.access_token);
      expect(op.counters.refreshed).toBe(1);

      // the proxy, through the production server: the OP's userinfo answers for the connection's token,
      // which the job never sent
      const me = await fetch(`${base}/api/v1/connections/${id}/proxy/me`, { headers: auth });
      const meText = await me.text();
      expect(me.status, meText).toBe(200);
      expect(me.headers.get("consentry-proxy")).toBe("provider");
      expect(JSON.parse(meText)).toMatchObject({ sub: expect.any(String) });
      // a target that climbs out of the base, sent raw (fetch would resolve the dots itself): 400, problem+json
      const raw = await new Promise<{ status: number; type: string }>((resolve, reject) => {
        const u = new URL(base);
        const r = http.request(
          { host: u.hostname, port: u.port, path: `/api/v1/connections/${id}/proxy/../../../token`, headers: auth },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode!, type: String(res.headers["content-type"]) });
          },
        );
        r.on("error", reject);
        r.end();
      });
      expect(raw).toEqual({ status: 400, type: "application/problem+json" });

      // the documentation is served by the same server
      const doc = await fetch(`${base}/api/v1/openapi.json`);
      expect(doc.status).toBe(200);
      expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
      // no secret reached the server's log
      for (const s of [key, opAccess, second.access_token, op.clients.post.client_secret])
        expect(server!.output()).not.toContain(s);
    });

    it("the server's fast path: an oversized body gets its 400 answer (not a reset), a bad %-escape a 404, Content-Length set, X-Request-Id echoed", async (ctx) => {
      if (buildError) return ctx.skip();
      const base = server!.url;
      const slug = `edges-${crypto.randomBytes(3).toString("hex")}`;
      expect(runCli(["org", "create", "--name", "Edges", "--slug", slug], env).status).toBe(0);
      const cli = runCli(["api-key", "create", "--org", slug, "--scopes", "tokens:read", "--name", "edges"], env);
      expect(cli.status, cli.stderr).toBe(0);
      const auth = { authorization: `Bearer ${cli.stdout.trim()}`, "content-type": "application/json" };
      const id = "00000000-0000-4000-8000-000000000000";

      const big = await fetch(`${base}/api/v1/connections/${id}/token`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ min_validity: 60, pad: "x".repeat(300 * 1024) }),
      });
      expect(big.status).toBe(400);
      expect(big.headers.get("content-type")).toBe("application/problem+json");
      expect(((await big.json()) as { detail: string }).detail).toMatch(/larger than 64 KiB/);

      const bad = await fetch(`${base}/api/v1/connections/%E0%A4%A/token`, {
        method: "POST",
        headers: auth,
        body: "{}",
      });
      expect(bad.status).toBe(404);

      const missing = await fetch(`${base}/api/v1/connections/${id}/token`, {
        method: "POST",
        headers: { ...auth, "x-request-id": "edge-check-1" },
        body: "{}",
      });
      const text = await missing.text();
      expect(missing.status).toBe(404);
      expect(missing.headers.get("x-request-id")).toBe("edge-check-1");
      expect(missing.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
      expect(missing.headers.get("transfer-encoding")).toBeNull();
    });

    it("the portal runs in a child process behind the server: pages and several Set-Cookie headers pass through; the API answers while a dead portal restarts, even when the first restart fails", async (ctx) => {
      if (buildError) return ctx.skip();
      const base = server!.url;
      // Auth.js's CSRF endpoint sets two cookies in one answer: both must arrive as separate headers
      const csrf = await fetch(`${base}/api/auth/csrf`);
      expect(csrf.status).toBe(200);
      expect(((await csrf.json()) as { csrfToken: string }).csrfToken).toMatch(/^[0-9a-f]{32,}$/);
      const cookies = csrf.headers.getSetCookie().map((c) => c.split("=")[0]);
      expect(cookies).toEqual(expect.arrayContaining(["authjs.csrf-token", "authjs.callback-url"]));
      const page = await fetch(`${base}/sign-in`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<html");
      expect(page.headers.get("connection")).not.toBe("close");

      // a portal process below the server, other than `except`
      const portalPid = (...except: Array<number | undefined>) =>
        descendants(server!.pid).find(
          (pid) => !except.includes(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("portal-child"),
        );
      // the portal process dies: the REST API, served by the front process, does not notice
      const first = portalPid();
      expect(first, "the portal child process").toBeDefined();
      // its replacement will wait in the starting state until the hold file is gone
      fs.writeFileSync(holdFile, "");
      process.kill(first!, "SIGKILL");
      const slug = `restart-${crypto.randomBytes(3).toString("hex")}`;
      expect(runCli(["org", "create", "--name", "Restart", "--slug", slug], env).status).toBe(0);
      const key = runCli(
        ["api-key", "create", "--org", slug, "--scopes", "connections:read", "--name", "restart"],
        env,
      ).stdout.trim();
      const providers = await fetch(`${base}/api/v1/providers`, { headers: { authorization: `Bearer ${key}` } });
      expect(providers.status).toBe(200);
      // the replacement is killed too while it is still starting: it is tried again
      let starting: number | undefined;
      for (const until = Date.now() + 20_000; !starting && Date.now() < until;) {
        starting = portalPid(first);
        if (!starting) await new Promise((r) => setTimeout(r, 20));
      }
      expect(starting, "a replacement portal process").toBeDefined();
      // held in its starting state: the portal is down, which is a 503 with Retry-After (502 is for a portal that is up and fails)
      const held = await fetch(`${base}/api/health`);
      expect(held.status).toBe(503);
      expect(held.headers.get("retry-after")).toBe("5");
      process.kill(starting!, "SIGKILL");
      fs.rmSync(holdFile);
      // and the portal is back within a minute, as another process
      const deadline = Date.now() + 60_000;
      let health = 0;
      while (Date.now() < deadline && health !== 200) {
        const h = await fetch(`${base}/api/health`).catch(() => null);
        health = h?.status ?? 0;
        if (h && h.status !== 200) {
          expect(h.status).toBe(503);
          expect(h.headers.get("retry-after")).toBe("5");
        }
        if (health !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect(health).toBe(200);
      const again = portalPid();
      expect(again).toBeDefined();
      expect([first, starting]).not.toContain(again);
      expect((await fetch(`${base}/sign-in`)).status).toBe(200);
    });
  });
}
