// The front process's guard in front of the portal (lib/server/front-guard.ts): what it refuses, what
// it forwards and how, and that its table of route handlers is what the route files under app/ export.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { API_ROUTES } from "@/lib/api/routes";
import {
  MAX_TARGET_BYTES,
  ROUTE_HANDLERS,
  judgePortalRequest,
  loadPortalRoutes,
  routeRegex,
  type PortalRoutes,
} from "@/lib/server/front-guard";
import { REPO_ROOT } from "../helpers/paths";
import { routeFiles } from "../helpers/route-files";

/** Every route.ts under app/ as its route pattern and the handler functions it exports. */
const routePatterns = (): Record<string, string[]> =>
  Object.fromEntries(routeFiles(path.join(REPO_ROOT, "app")).map((r) => ["/" + r.segments.join("/"), r.methods]));

/** A build's manifest with these entries, loaded as the server loads it. */
function routesFrom(manifest: Record<string, string>): PortalRoutes {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "front-guard-"));
  try {
    fs.mkdirSync(path.join(dir, ".next"));
    fs.writeFileSync(path.join(dir, ".next", "app-path-routes-manifest.json"), JSON.stringify(manifest));
    return loadPortalRoutes(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const routes = routesFrom({
  "/page": "/",
  "/(auth)/sign-in/page": "/sign-in",
  "/(portal)/orgs/[org]/connections/[id]/page": "/orgs/[org]/connections/[id]",
  "/consent/[token]/page": "/consent/[token]",
  "/_not-found/page": "/_not-found",
  "/api/auth/[...nextauth]/route": "/api/auth/[...nextauth]",
  "/api/health/route": "/api/health",
  "/consent/[token]/start/route": "/consent/[token]/start",
  "/api/brand-new/route": "/api/brand-new",
});

const judge = (method: string, url: string, headers: Record<string, string> = {}) =>
  judgePortalRequest(routes, { method, url, headers });

describe("the portal's route handlers", () => {
  it("ROUTE_HANDLERS lists exactly the route files under app/ that the front process does not answer itself, with the methods they export", () => {
    const apiPaths = new Set(API_ROUTES.map((r) => r.path.replace(/\{(\w+)\}/g, "[$1]")));
    // the provider proxy is answered by the front process too (lib/proxy/proxy-request.ts)
    apiPaths.add("/api/v1/connections/[id]/proxy/[[...path]]");
    // and so is Microsoft's webhook listener (lib/activity/listener.ts)
    apiPaths.add("/api/webhooks/microsoft-365/[listener]");
    const files = Object.fromEntries(Object.entries(routePatterns()).filter(([p]) => !apiPaths.has(p)));
    const table = Object.fromEntries(Object.entries(ROUTE_HANDLERS).map(([p, s]) => [p, s.methods]));
    expect(table).toEqual(files);
  });

  it("route patterns match as Next matches them (dynamic segments, catch-alls, a trailing slash)", () => {
    expect(routeRegex("/").test("/")).toBe(true);
    expect(routeRegex("/").test("/x")).toBe(false);
    expect(routeRegex("/orgs/[org]").test("/orgs/demo")).toBe(true);
    expect(routeRegex("/orgs/[org]").test("/orgs/demo/")).toBe(true);
    expect(routeRegex("/orgs/[org]").test("/orgs/demo/x")).toBe(false);
    expect(routeRegex("/api/auth/[...nextauth]").test("/api/auth/callback/credentials")).toBe(true);
    expect(routeRegex("/api/auth/[...nextauth]").test("/api/auth")).toBe(false);
    expect(routeRegex("/docs/[[...slug]]").test("/docs")).toBe(true);
    expect(routeRegex("/docs/[[...slug]]").test("/docs/a/b")).toBe(true);
    expect(routeRegex("/api/v1/openapi.json").test("/api/v1/openapiXjson")).toBe(false);
  });
});

describe("what the guard refuses", () => {
  it("a target that is not a single-slash path, or longer than the limit", () => {
    expect(judge("OPTIONS", "*")).toMatchObject({ refuse: { code: "bad-request" } });
    expect(judge("GET", "http://evil.example/sign-in")).toMatchObject({ refuse: { code: "bad-request" } });
    expect(judge("GET", "//evil.example")).toMatchObject({ refuse: { code: "bad-request" } });
    expect(judge("GET", `/sign-in?${"a".repeat(MAX_TARGET_BYTES)}`)).toMatchObject({
      refuse: { code: "uri-too-long" },
    });
    expect(judge("GET", `/sign-in?${"a".repeat(MAX_TARGET_BYTES - 20)}`)).toEqual({ forward: "no-body" });
  });

  it("a path with a malformed %-escape or a control character; the query is Next's to read", () => {
    for (const url of ["/consent/%E0%A4%A", "/api/oauth/callback/%zz", "/sign-in%", "/%C0%AF", "/%ED%A0%80"])
      expect(judge("GET", url), url).toMatchObject({ refuse: { code: "bad-request" } });
    for (const url of ["/consent/%00", "/consent/a%0Ab", "/x%7F"])
      expect(judge("GET", url), url).toMatchObject({ refuse: { code: "bad-request" } });
    expect(judge("GET", "/consent/%41bc?x=%zz")).toEqual({ forward: "no-body" });
  });

  it("a method Next does not implement: 405 with what the path takes", () => {
    expect(judge("TRACE", "/sign-in")).toEqual({
      refuse: { code: "method-not-allowed", detail: expect.any(String), allow: ["GET", "HEAD", "POST"] },
    });
    expect(judge("TRACE", "/api/health")).toMatchObject({
      refuse: { code: "method-not-allowed", allow: ["GET", "HEAD", "OPTIONS"] },
    });
    expect(judge("FOO", "/nowhere")).toMatchObject({ refuse: { code: "method-not-allowed", allow: ["GET", "HEAD"] } });
  });

  it("route handlers take the methods they export (HEAD with GET, OPTIONS), and only the bodies they read", () => {
    expect(judge("PUT", "/api/health")).toMatchObject({ refuse: { code: "method-not-allowed" } });
    expect(judge("HEAD", "/api/health")).toEqual({ forward: "no-body" });
    expect(judge("OPTIONS", "/api/health")).toEqual({ forward: "as-is" });
    expect(judge("GET", "/consent/abc/start")).toMatchObject({ refuse: { allow: ["POST", "OPTIONS"] } });
    expect(
      judge("POST", "/consent/abc/start", { "content-type": "multipart/form-data", "content-length": "9" }),
    ).toEqual({ forward: "as-is" });
    const form = { "content-type": "application/x-www-form-urlencoded", "content-length": "9" };
    expect(judge("POST", "/api/auth/callback/credentials", form)).toEqual({ forward: "as-is" });
    expect(
      judge("POST", "/api/auth/signout", { "content-type": "multipart/form-data; boundary=x", "content-length": "9" }),
    ).toMatchObject({ refuse: { code: "unsupported-media-type" } });
    // a handler the table does not know yet takes whatever Next implements (and the table test fails)
    expect(judge("DELETE", "/api/brand-new")).toEqual({ forward: "as-is" });
  });

  it("a page takes GET and HEAD (without a body), and POST only as a server action; other paths GET and HEAD only", () => {
    expect(judge("GET", "/orgs/demo/connections/x", { "content-length": "5" })).toEqual({ forward: "no-body" });
    expect(judge("POST", "/sign-in", { "content-type": "multipart/form-data; boundary=x" })).toEqual({
      forward: "checked",
      kind: "multipart",
    });
    expect(judge("POST", "/sign-in", { "content-type": "text/plain;charset=UTF-8", "next-action": "ab" })).toEqual({
      forward: "checked",
      kind: "json",
    });
    expect(judge("POST", "/sign-in", { "content-type": "text/plain" })).toMatchObject({
      refuse: { code: "unsupported-media-type" },
    });
    expect(judge("POST", "/sign-in", { "content-type": "application/json", "next-action": "ab" })).toMatchObject({
      refuse: { code: "unsupported-media-type" },
    });
    expect(judge("DELETE", "/sign-in")).toMatchObject({ refuse: { code: "method-not-allowed" } });
    // Next's cross-site check, made here (Next answers its failure, or an Origin it cannot parse, with a 500)
    const action = { "content-type": "multipart/form-data; boundary=x", host: "portal.example:3000" };
    expect(judge("POST", "/sign-in", { ...action, origin: "http://portal.example:3000" })).toMatchObject({
      forward: "checked",
    });
    for (const origin of ["http://evil.example", "null", "::", "http://portal.example"])
      expect(judge("POST", "/sign-in", { ...action, origin }), origin).toMatchObject({
        refuse: { code: "forbidden" },
      });
    expect(
      judge("POST", "/sign-in", {
        ...action,
        origin: "https://public.example",
        "x-forwarded-host": "public.example, lb",
      }),
    ).toMatchObject({ forward: "checked" });
    expect(judge("POST", "/sign-in", { ...action, host: "", origin: "http://localhost" })).toMatchObject({
      refuse: { code: "forbidden" },
    });
    expect(judge("POST", "/nope", { "content-type": "multipart/form-data; boundary=x" })).toMatchObject({
      refuse: { code: "method-not-allowed", allow: ["GET", "HEAD"] },
    });
    expect(judge("GET", "/nope")).toEqual({ forward: "no-body" });
  });
});
