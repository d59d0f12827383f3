// lib/oauth/token-request.ts: the token request body and client authentication (RFC 6749 §2.3.1,
// RFC 7523), and requestToken against a real HTTP server on 127.0.0.1 (seed 001's exact request
// shape, no redirects, bounded bodies, total timeouts). The test-only loopback allowance is switched
// on through the environment and a fresh module graph, as in tests/unit/egress.test.ts.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { tokenRequestBody } from "@/lib/oauth/token-request";

type TokenRequestModule = typeof import("@/lib/oauth/token-request");
type TokenErrorsModule = typeof import("@/lib/oauth/token-errors");

const GENERIC = PROVIDERS.get("generic-oauth2")!;
const AZURE = PROVIDERS.get("microsoft-365-management")!;
const AWKWARD_SECRET = "a:b%c+d e&f=g秘密/?#;'\"!*()~\\";
const AWKWARD_ID = "client:id with space+plus%&=秘";

/** application/x-www-form-urlencoded decoding of one component. */
const formDecode = (s: string) => new URLSearchParams(`v=${s}`).get("v");

function decodeBasic(header: string | undefined): { id: string; secret: string; raw: string } {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const raw = Buffer.from(header!.slice("Basic ".length), "base64").toString("utf8");
  // both halves are form-encoded, so the separator is the only literal colon
  expect(raw.split(":")).toHaveLength(2);
  const [id, secret] = raw.split(":") as [string, string];
  return { id: formDecode(id)!, secret: formDecode(secret)!, raw };
}

describe("tokenRequestBody", () => {
  const params = {
    grant_type: "authorization_code",
    code: "AAABAAAAvPM1KaPlrEqdFSB",
    redirect_uri: "https://consentry.example/oauth/callback",
  };

  it("client_secret_post: client_id and client_secret in the body, no Authorization header", () => {
    const { body, headers } = tokenRequestBody(params, {
      clientId: "cid",
      clientSecret: AWKWARD_SECRET,
      method: "client_secret_post",
    });
    expect(body.get("client_id")).toBe("cid");
    expect(body.get("client_secret")).toBe(AWKWARD_SECRET);
    // the encoded form round-trips exactly
    expect(new URLSearchParams(body.toString()).get("client_secret")).toBe(AWKWARD_SECRET);
    expect(headers.authorization).toBeUndefined();
    expect(headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(headers.accept).toBe("application/json");
    expect(body.get("grant_type")).toBe("authorization_code");
    expect(body.get("code")).toBe(params.code);
    expect(body.get("redirect_uri")).toBe(params.redirect_uri);
  });

  it("client_secret_basic: Basic base64(urlenc(id):urlenc(secret)) and no secret in the body", () => {
    const { body, headers } = tokenRequestBody(params, {
      clientId: "a6099727-6b7b-482c-b509-1df309acc563",
      clientSecret: "s3cr3t",
      method: "client_secret_basic",
    });
    expect(headers.authorization).toBe(
      `Basic ${Buffer.from("a6099727-6b7b-482c-b509-1df309acc563:s3cr3t").toString("base64")}`,
    );
    expect(body.has("client_secret")).toBe(false);
    expect(body.toString()).not.toContain("s3cr3t");
  });

  it.each([
    ["every awkward character", AWKWARD_ID, AWKWARD_SECRET],
    ["a colon-only secret", "id", ":::"],
    ["a percent sequence that looks encoded", "id%3A", "%41%3A%2B"],
    ["plus and space", "a+b c", "+ +"],
    ["non-ASCII only", "秘密のID", "秘密"],
    ["emoji", "id", "🔑secret🔑"],
  ])("client_secret_basic: %s decodes back exactly", (_name, id, secret) => {
    const { body, headers } = tokenRequestBody(params, {
      clientId: id,
      clientSecret: secret,
      method: "client_secret_basic",
    });
    const decoded = decodeBasic(headers.authorization);
    expect(decoded.id).toBe(id);
    expect(decoded.secret).toBe(secret);
    // neither raw nor encoded secret leaks into the body
    expect(body.has("client_secret")).toBe(false);
    expect(body.toString()).not.toContain(encodeURIComponent(secret));
    for (const v of body.values()) expect(v).not.toBe(secret);
  });

  it("client_secret_basic encodes the reserved characters instead of passing them through", () => {
    const { headers } = tokenRequestBody(params, {
      clientId: "id",
      clientSecret: "a:b%c+d e",
      method: "client_secret_basic",
    });
    const { raw } = decodeBasic(headers.authorization);
    expect(raw).toBe("id:a%3Ab%25c%2Bd+e");
  });

  it("client assertion: jwt-bearer type, assertion and client_id; no secret, no Basic header", () => {
    const assertion = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJjaWQifQ.c2ln";
    for (const method of ["client_secret_post", "client_secret_basic"] as const) {
      const { body, headers } = tokenRequestBody(
        { grant_type: "client_credentials", resource: "https://manage.office.com" },
        {
          clientId: "a6099727-6b7b-482c-b509-1df309acc563",
          clientSecret: "must-not-be-sent",
          clientAssertion: assertion,
          method,
        },
      );
      expect(body.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      expect(body.get("client_assertion")).toBe(assertion);
      expect(body.get("client_id")).toBe("a6099727-6b7b-482c-b509-1df309acc563");
      expect(body.has("client_secret")).toBe(false);
      expect(body.toString()).not.toContain("must-not-be-sent");
      expect(headers.authorization).toBeUndefined();
      // seed 000's client-credentials body, key for key
      expect([...body.keys()].sort()).toEqual([
        "client_assertion",
        "client_assertion_type",
        "client_id",
        "grant_type",
        "resource",
      ]);
      expect(body.toString()).toContain(
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
      );
    }
  });

  it("client_secret_basic without a secret sends client_id in the body (public client)", () => {
    const { body, headers } = tokenRequestBody(params, {
      clientId: "cid",
      clientSecret: null,
      method: "client_secret_basic",
    });
    expect(headers.authorization).toBeUndefined();
    expect(body.get("client_id")).toBe("cid");
    expect(body.has("client_secret")).toBe(false);
  });

  it("keys are never duplicated", () => {
    const { body } = tokenRequestBody(
      { ...params, client_id: "spoofed" },
      { clientId: "cid", clientSecret: "s", method: "client_secret_post" },
    );
    expect(body.getAll("client_id")).toEqual(["cid"]);
  });
});

// ---------------------------------------------------------------------------------------------
// requestToken against a real server
// ---------------------------------------------------------------------------------------------

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let handler: Handler = (_req, res) => res.end();
const seen: Seen[] = [];
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();
let server: http.Server;
let base: string;
let loopback: { mod: TokenRequestModule; errors: TokenErrorsModule };
let production: { mod: TokenRequestModule; errors: TokenErrorsModule };

async function loadModules(allowLoopback: boolean) {
  vi.resetModules();
  vi.stubEnv("CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS", allowLoopback ? "true" : "");
  const mod = await import("@/lib/oauth/token-request");
  const errors = await import("@/lib/oauth/token-errors");
  // env() parses once and caches: read it now, while the variable is set, in the same module graph.
  expect((await import("@/lib/env")).env().egress.allowLoopback).toBe(allowLoopback);
  vi.unstubAllEnvs();
  return { mod, errors };
}

beforeAll(async () => {
  production = await loadModules(false);
  loopback = await loadModules(true);
  server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, res);
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  seen.length = 0;
  for (const t of timers) clearInterval(t);
  timers.clear();
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const tokenJson = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ access_token: "at-123", token_type: "Bearer", expires_in: 3600, refresh_token: "rt-456", ...extra });

async function refusalOf(p: Promise<unknown>): Promise<InstanceType<TokenErrorsModule["TokenEndpointError"]>> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(loopback.errors.TokenEndpointError);
    return e as InstanceType<TokenErrorsModule["TokenEndpointError"]>;
  }
  throw new Error("expected requestToken to fail");
}

describe("requestToken (loopback test server)", () => {
  it("sends seed 001's authorization_code exchange: exactly grant_type, client_id, client_secret, code, redirect_uri", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(tokenJson());
    };
    const redirectUri = "https://consentry.example/oauth/callback?x=1&y=2";
    const code = "AAABAAAAvPM1KaPlrEqdFSB+/=&";
    const before = Date.now();
    const data = await loopback.mod.requestToken({
      provider: GENERIC,
      url: `${base}/oauth/v1/token`,
      // what lib/consent/complete-consent.ts sends for a generic provider without PKCE
      params: { grant_type: "authorization_code", code, redirect_uri: redirectUri, ...GENERIC.tokenParams },
      client: { clientId: "my-client", clientSecret: AWKWARD_SECRET, method: "client_secret_post" },
    });
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe("POST");
    expect(req.url).toBe("/oauth/v1/token");
    expect(req.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(req.headers.authorization).toBeUndefined();
    expect(Number(req.headers["content-length"])).toBe(Buffer.byteLength(req.body));
    const form = new URLSearchParams(req.body);
    expect([...form.keys()].sort()).toEqual(["client_id", "client_secret", "code", "grant_type", "redirect_uri"]);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "authorization_code",
      client_id: "my-client",
      client_secret: AWKWARD_SECRET,
      code,
      redirect_uri: redirectUri,
    });
    // the parsed result is returned, with the lifetime counted from when the request was sent
    expect(data.accessToken).toBe("at-123");
    expect(data.refreshToken).toBe("rt-456");
    expect(data.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 3600_000);
    expect(data.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 3600_000);
  });

  it("sends seed 001's refresh body: exactly grant_type, client_id, client_secret, refresh_token", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(tokenJson({ refresh_token: undefined }));
    };
    const data = await loopback.mod.requestToken({
      provider: GENERIC,
      url: `${base}/token`,
      params: { grant_type: "refresh_token", refresh_token: "rt-old", ...GENERIC.tokenParams },
      client: { clientId: "my-client", clientSecret: "sec", method: "client_secret_post" },
    });
    expect(Object.fromEntries(new URLSearchParams(seen[0]!.body))).toEqual({
      grant_type: "refresh_token",
      client_id: "my-client",
      client_secret: "sec",
      refresh_token: "rt-old",
    });
    expect(data.refreshToken).toBeNull();
  });

  it("client_secret_basic: the server decodes the Basic header back to the exact id and secret", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(tokenJson());
    };
    await loopback.mod.requestToken({
      provider: GENERIC,
      url: `${base}/token`,
      params: { grant_type: "authorization_code", code: "c", redirect_uri: "https://consentry.example/cb" },
      client: { clientId: AWKWARD_ID, clientSecret: AWKWARD_SECRET, method: "client_secret_basic" },
    });
    const req = seen[0]!;
    const { id, secret } = decodeBasic(req.headers.authorization);
    expect(id).toBe(AWKWARD_ID);
    expect(secret).toBe(AWKWARD_SECRET);
    const form = new URLSearchParams(req.body);
    expect(form.has("client_secret")).toBe(false);
    expect(req.body).not.toContain(encodeURIComponent(AWKWARD_SECRET));
  });

  it("a 302 from the token endpoint is refused (errorCode redirect) and not followed", async () => {
    handler = (req, res) => {
      if (req.url === "/elsewhere") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(tokenJson());
      }
      res.writeHead(302, { location: `${base}/elsewhere` });
      res.end();
    };
    const e = await refusalOf(
      loopback.mod.requestToken({
        provider: GENERIC,
        url: `${base}/token`,
        params: { grant_type: "authorization_code", code: "c", redirect_uri: "https://x.example/cb" },
        client: { clientId: "id", clientSecret: "s", method: "client_secret_post" },
      }),
    );
    expect(e.errorCode).toBe("redirect");
    expect(e.failureClass).toBe("invalid_response");
    expect(e.details.status).toBe(302);
    expect(seen.map((s) => s.url)).toEqual(["/token"]);
  });

  it.each([301, 307, 308])("a %i is refused too", async (status) => {
    handler = (_req, res) => {
      res.writeHead(status, { location: `${base}/elsewhere` });
      res.end(tokenJson());
    };
    const e = await refusalOf(
      loopback.mod.requestToken({
        provider: GENERIC,
        url: `${base}/token`,
        params: { grant_type: "refresh_token", refresh_token: "r" },
        client: { clientId: "id", method: "client_secret_post" },
      }),
    );
    expect(e.errorCode).toBe("redirect");
    expect(seen).toHaveLength(1);
  });

  it("a huge streamed body (no content-length) is refused", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"access_token":"`);
      const chunk = "a".repeat(64 * 1024);
      for (let i = 0; i < 32; i++) res.write(chunk);
      res.end(`","token_type":"Bearer"}`);
    };
    const e = await refusalOf(
      loopback.mod.requestToken({
        provider: GENERIC,
        url: `${base}/token`,
        params: { grant_type: "refresh_token", refresh_token: "r" },
        client: { clientId: "id", clientSecret: "s", method: "client_secret_post" },
      }),
    );
    expect(e.errorCode).toBe("too_large");
    expect(e.message).not.toContain("aaaa");
  });

  it("a body declared larger than the limit is refused before it is read", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(10 * 1024 * 1024) });
      res.write("{");
    };
    const e = await refusalOf(
      loopback.mod.requestToken({
        provider: GENERIC,
        url: `${base}/token`,
        params: { grant_type: "refresh_token", refresh_token: "r" },
        client: { clientId: "id", clientSecret: "s", method: "client_secret_post" },
        timeoutMs: 5000,
      }),
    );
    expect(e.errorCode).toBe("too_large");
  });

  it("a body that trickles forever hits the total timeout", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("{");
      const t = setInterval(() => res.write(" "), 20);
      timers.add(t);
      res.on("close", () => clearInterval(t));
    };
    const started = Date.now();
    const e = await refusalOf(
      loopback.mod.requestToken({
        provider: GENERIC,
        url: `${base}/token`,
        params: { grant_type: "refresh_token", refresh_token: "r" },
        client: { clientId: "id", clientSecret: "s", method: "client_secret_post" },
        timeoutMs: 300,
      }),
    );
    expect(e.errorCode).toBe("timeout");
    expect(e.failureClass).toBe("retryable");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("a server that never answers hits the total timeout", async () => {
    handler = () => {};
    const e = await refusalOf(
      loopback.mod.requestToken({
        provider: GENERIC,
        url: `${base}/token`,
        params: { grant_type: "refresh_token", refresh_token: "r" },
        client: { clientId: "id", clientSecret: "s", method: "client_secret_post" },
        timeoutMs: 200,
      }),
    );
    expect(e.errorCode).toBe("timeout");
  });

  it("an Azure error answer is classified (AADSTS70008 → needs_reconsent)", async () => {
    handler = (_req, res) => {
      res.writeHead(400, { "content-type": "application/json; charset=utf-8" });
      res.end(
        JSON.stringify({
          error: "invalid_grant",
          error_description: "AADSTS70008: The refresh token has expired due to inactivity.",
          error_codes: [70008],
          timestamp: "2024-05-01 10:00:00Z",
          trace_id: "t",
          correlation_id: "c",
        }),
      );
    };
    const e = await refusalOf(
      loopback.mod.requestToken({
        provider: AZURE,
        url: `${base}/common/oauth2/token`,
        params: { grant_type: "refresh_token", refresh_token: "r", ...AZURE.tokenParams },
        client: { clientId: "id", clientSecret: "s", method: "client_secret_post" },
      }),
    );
    expect(e.failureClass).toBe("needs_reconsent");
    expect(e.errorCode).toBe("invalid_grant");
    expect(new URLSearchParams(seen[0]!.body).get("resource")).toBe("https://manage.office.com");
  });

  it("429 with Retry-After: 30 → retryable with retryAfterSeconds 30", async () => {
    handler = (_req, res) => {
      res.writeHead(429, { "content-type": "text/plain", "retry-after": "30" });
      res.end("slow down");
    };
    const e = await refusalOf(
      loopback.mod.requestToken({
        provider: GENERIC,
        url: `${base}/token`,
        params: { grant_type: "refresh_token", refresh_token: "r" },
        client: { clientId: "id", clientSecret: "s", method: "client_secret_post" },
      }),
    );
    expect(e.failureClass).toBe("retryable");
    expect(e.details.retryAfterSeconds).toBe(30);
  });

  it("under the production policy the loopback server is never reached", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(tokenJson());
    };
    const port = new URL(base).port;
    for (const url of [`https://127.0.0.1:${port}/token`, `${base}/token`]) {
      let err: unknown;
      try {
        await production.mod.requestToken({
          provider: GENERIC,
          url,
          params: { grant_type: "refresh_token", refresh_token: "r" },
          client: { clientId: "id", clientSecret: "secret-canary", method: "client_secret_post" },
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(production.errors.TokenEndpointError);
      const e = err as InstanceType<TokenErrorsModule["TokenEndpointError"]>;
      expect(["blocked_address", "invalid_url"]).toContain(e.errorCode);
      expect(e.failureClass).toBe("invalid_response");
    }
    expect(seen).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
// An authorization server that echoes the request (SECURITY.md #44): whichever field the echo is
// in, and whatever grant and client authentication, nothing of the request's secrets is kept.
// ---------------------------------------------------------------------------------------------

describe("requestToken: an echoing token endpoint", () => {
  const canary = (label: string) => `canary-${label}-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const echoOf = (s: Seen) =>
    [`${s.method} ${s.url}`, ...Object.entries(s.headers).map(([k, v]) => `${k}: ${String(v)}`), "", s.body].join("\n");
  /** where the echo goes, the status, the body, and whether the echo stands where the error code belongs */
  const answers: Array<[string, number, (echo: string) => unknown, boolean]> = [
    [
      "in error (HTTP 400)",
      400,
      (echo) => ({ error: echo, error_description: "The request was not understood." }),
      true,
    ],
    [
      "in error, cut to 200 characters of the body (HTTP 400)",
      400,
      (echo) => ({ error: echo.slice(echo.lastIndexOf("\n") + 1).slice(0, 200) }),
      true,
    ],
    ["in error (HTTP 200)", 200, (echo) => ({ error: echo, access_token: "at", token_type: "Bearer" }), true],
    [
      "in error_description",
      400,
      (echo) => ({ error: "invalid_request", error_description: `Bad request: ${echo}` }),
      false,
    ],
    ["in a HubSpot-style status and message", 400, (echo) => ({ status: echo, message: echo }), true],
    ["in a JSON body without OAuth fields", 400, (echo) => ({ message: `Request rejected: ${echo}` }), false],
    ["in an HTML page", 400, (echo) => `<!DOCTYPE html><html><body><pre>${echo}</pre></body></html>`, false],
    [
      "in scope, next to a valid token",
      200,
      (echo) => ({ access_token: "at", token_type: "Bearer", expires_in: 3600, scope: `openid ${echo}` }),
      false,
    ],
  ];
  type Grant = {
    name: string;
    params: Record<string, string>;
    client: Parameters<TokenRequestModule["requestToken"]>[0]["client"];
  };
  const grants = (secret: string): Grant[] => [
    {
      name: "code exchange with PKCE, client_secret_post",
      params: {
        grant_type: "authorization_code",
        code: canary("code"),
        code_verifier: canary("verifier"),
        redirect_uri: "https://c.example/cb",
      },
      client: { clientId: "cid", clientSecret: secret, method: "client_secret_post" },
    },
    {
      name: "refresh, client_secret_basic",
      params: { grant_type: "refresh_token", refresh_token: canary("refresh") },
      client: { clientId: "cid", clientSecret: secret, method: "client_secret_basic" },
    },
    {
      name: "client credentials with an assertion",
      params: { grant_type: "client_credentials" },
      client: {
        clientId: "cid",
        clientAssertion: `eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJjaWQifQ.${canary("assertion")}`,
        method: "client_secret_post",
      },
    },
  ];

  for (const [where, status, body, inCode] of answers) {
    for (const g of grants(`${canary("secret")} +/&=%`)) {
      it(`${where}; ${g.name}`, async () => {
        handler = (_req, res) => {
          const b = body(echoOf(seen[seen.length - 1]!));
          res.writeHead(status, { "content-type": typeof b === "string" ? "text/html" : "application/json" });
          res.end(typeof b === "string" ? b : JSON.stringify(b));
        };
        let kept: string;
        try {
          const provider = PROVIDERS.get(where.includes("HubSpot") ? "hubspot" : "generic-oauth2")!;
          const data = await loopback.mod.requestToken({
            provider,
            url: `${base}/token`,
            params: g.params,
            client: g.client,
          });
          kept = JSON.stringify(data.scopes);
          expect(data.scopes).toContain("openid");
        } catch (e) {
          expect(e).toBeInstanceOf(loopback.errors.TokenEndpointError);
          const err = e as InstanceType<TokenErrorsModule["TokenEndpointError"]>;
          kept = JSON.stringify({ code: err.errorCode, message: err.message, details: err.details });
          // not a code: reported as invalid_response, classified by the status alone
          if (inCode) expect(err).toMatchObject({ errorCode: "invalid_response", failureClass: "invalid_response" });
          if (where === "in error_description") expect(err.errorCode).toBe("invalid_request");
        }
        const sent = seen[seen.length - 1]!;
        const secrets = [
          ...Object.values(g.params),
          g.client.clientSecret,
          g.client.clientAssertion,
          sent.headers.authorization?.slice(6),
        ].filter(
          (s): s is string =>
            Boolean(s) &&
            !["authorization_code", "refresh_token", "client_credentials", "https://c.example/cb"].includes(s!),
        );
        expect(secrets.length).toBeGreaterThanOrEqual(g.client.clientAssertion ? 1 : 3);
        for (const s of secrets) {
          for (const spelled of [
            s,
            encodeURIComponent(s),
            new URLSearchParams({ v: s }).toString().slice(2),
            s.slice(0, 12),
            s.slice(-12),
          ]) {
            expect(kept, `${spelled} kept`).not.toContain(spelled);
          }
        }
      });
    }
  }

  it("a 503 whose error is an echo stays retryable; a readable code keeps its meaning", async () => {
    handler = (_req, res) => {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "7" });
      res.end(JSON.stringify({ error: echoOf(seen[seen.length - 1]!) }));
    };
    const params = { grant_type: "refresh_token", refresh_token: canary("refresh") };
    const client = { clientId: "id", clientSecret: "s3cret-value", method: "client_secret_post" as const };
    const e = await refusalOf(loopback.mod.requestToken({ provider: GENERIC, url: `${base}/token`, params, client }));
    expect(e).toMatchObject({
      errorCode: "invalid_response",
      failureClass: "retryable",
      details: { status: 503, retryAfterSeconds: 7 },
    });
    handler = (_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: "invalid_grant", error_description: `refresh token ${params.refresh_token} expired` }),
      );
    };
    const dead = await refusalOf(
      loopback.mod.requestToken({ provider: GENERIC, url: `${base}/token`, params, client }),
    );
    expect(dead).toMatchObject({
      errorCode: "invalid_grant",
      failureClass: "needs_reconsent",
      details: { description: "refresh token [redacted] expired" },
    });
  });
});
