// What the front process refuses before the portal (Next.js) sees a request: inputs that Next answers
// with a 500 (or worse, an open redirect) — request targets that are not a path or are too long, paths
// with malformed %-escapes or control characters, methods Next does not implement, and bodies on paths
// that cannot take them — get a clean 4xx here: problem+json under /api/, plain text elsewhere.
//
// The rule for bodies: a route handler (app/**/route.ts) takes the methods it exports (ROUTE_HANDLERS);
// a page takes GET and HEAD, and POST only as a server action — a `Next-Action` call (text/plain or
// multipart/form-data) or a form posted without JavaScript (multipart/form-data). A server action's body
// is read here (at most Next's 1 MB limit) and must parse as what it claims to be, because Next turns
// a body it cannot parse into a 500. Any other path takes GET and HEAD only.
import fs from "node:fs";
import type http from "node:http";
import path from "node:path";
import { AppError, toProblem, type ErrorCode } from "@/lib/errors";

/** Longer request targets get 414. Next's redirects repeat the target in two headers (Location, Refresh). */
export const MAX_TARGET_BYTES = 8 * 1024;
/** Next's default `serverActions.bodySizeLimit` (next.config.js does not change it). */
export const MAX_ACTION_BODY_BYTES = 1024 * 1024;
/** Everything Next.js implements; anything else (TRACE, CONNECT, made-up methods) is a 405 here. */
export const NEXT_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
const READ_ONLY = ["GET", "HEAD"];
const PAGE_METHODS = ["GET", "HEAD", "POST"];
const FORM_TYPES = ["application/x-www-form-urlencoded", "application/json"];

type HandlerSpec = {
  /** the handler functions app/<pattern>/route.ts exports */
  methods: string[];
  /** the media types its POST reads; absent: it never reads the body */
  bodies?: string[];
};

/**
 * Every route handler under app/ that the portal serves, by its route pattern (route groups left out).
 * tests/unit/front-guard.test.ts holds this equal to what the route files export. The REST API's
 * handlers (app/api/v1) are answered by the front process itself and are not listed, except the
 * OpenAPI document, which Next serves.
 */
export const ROUTE_HANDLERS: Record<string, HandlerSpec> = {
  "/api/auth/[...nextauth]": { methods: ["GET", "POST"], bodies: FORM_TYPES },
  "/api/cron/refresh": { methods: ["POST"] },
  "/api/health": { methods: ["GET"] },
  "/api/health/ready": { methods: ["GET"] },
  "/api/oauth/callback/[provider]": { methods: ["GET"] },
  "/api/v1/openapi.json": { methods: ["GET"] },
  "/consent/[token]/start": { methods: ["POST"] },
  "/connect/[token]/start": { methods: ["POST"] },
  "/connect/[token]/status": { methods: ["GET"] },
};

/** A route pattern (`/orgs/[org]`, `/api/auth/[...nextauth]`, `/x/[[...y]]`) as a regular expression; a trailing slash matches too. */
export function routeRegex(pattern: string): RegExp {
  const body = pattern
    .split("/")
    .filter(Boolean)
    .map((s) =>
      /^\[\[\.\.\..+\]\]$/.test(s)
        ? "(?:/.+)?"
        : /^\[\.\.\..+\]$/.test(s)
          ? "/.+"
          : /^\[.+\]$/.test(s)
            ? "/[^/]+"
            : "/" + s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${body || "/"}/?$`);
}

export type PortalRoutes = {
  pages: RegExp[];
  handlers: Array<{ re: RegExp; spec: HandlerSpec }>;
};

/**
 * The portal's routes as this build serves them: pages from Next's own manifest of the build
 * (.next/app-path-routes-manifest.json), route handlers from ROUTE_HANDLERS (a handler in the build
 * that the table lacks takes every method Next implements, and the unit test fails).
 */
export function loadPortalRoutes(dir: string = process.cwd()): PortalRoutes {
  const file = path.join(dir, ".next", "app-path-routes-manifest.json");
  const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>;
  const pages: RegExp[] = [];
  const handlers: PortalRoutes["handlers"] = [];
  for (const [entry, pattern] of Object.entries(manifest)) {
    if (pattern.startsWith("/_")) continue; // /_not-found, /_global-error: Next's own
    if (entry.endsWith("/page")) pages.push(routeRegex(pattern));
    else if (entry.endsWith("/route"))
      handlers.push({ re: routeRegex(pattern), spec: ROUTE_HANDLERS[pattern] ?? { methods: [...NEXT_METHODS] } });
  }
  return { pages, handlers };
}

export type Refusal = { code: ErrorCode; detail: string; allow?: string[] };
/** What to do with a request: refuse it, or forward it with its body as is, without one, or read and checked first. */
export type Verdict =
  { refuse: Refusal } | { forward: "as-is" | "no-body" } | { forward: "checked"; kind: "multipart" | "json" };

const CONTROL = /[\u0000-\u001f\u007f]/;

function mediaType(headers: http.IncomingHttpHeaders): string {
  return (headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

function hasBody(headers: http.IncomingHttpHeaders): boolean {
  return headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? 0) > 0;
}

/**
 * Next's check against cross-site server actions, made here first because Next answers its failure
 * (and an Origin it cannot parse) with a 500: an Origin, when sent, must name the host the request is
 * for — X-Forwarded-Host's first value, else Host. (Were `serverActions.allowedOrigins` ever set in
 * next.config.js, this would have to allow them too.)
 */
function sameOrigin(headers: http.IncomingHttpHeaders): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true; // Next lets it through: not a browser's cross-site request
  const forwarded = headers["x-forwarded-host"];
  const host = (Array.isArray(forwarded) ? forwarded[0] : forwarded?.split(",")[0]?.trim()) || headers.host;
  if (!host || !URL.canParse(origin)) return false;
  return new URL(origin).host === host;
}

/** Allowed methods as an Allow header lists them: HEAD wherever GET is, OPTIONS (Next answers it) on route handlers. */
function handlerAllow(spec: HandlerSpec): string[] {
  const m = new Set(spec.methods);
  if (m.has("GET")) m.add("HEAD");
  m.add("OPTIONS");
  return NEXT_METHODS.filter((x) => m.has(x));
}

/** The decision for one request bound for the portal (a pure function of its request line and headers). */
export function judgePortalRequest(
  routes: PortalRoutes,
  req: { method: string; url: string; headers: http.IncomingHttpHeaders },
): Verdict {
  const { method, url, headers } = req;
  // absolute-form (`GET http://other/…`) and `OPTIONS *` are for proxies; Next would redirect to the other host
  if (!url.startsWith("/") || url.startsWith("//"))
    return { refuse: { code: "bad-request", detail: "The request target must be a path beginning with a single /." } };
  if (Buffer.byteLength(url) > MAX_TARGET_BYTES)
    return { refuse: { code: "uri-too-long", detail: `The request target is longer than ${MAX_TARGET_BYTES} bytes.` } };
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
  let pathname: string;
  try {
    pathname = decodeURIComponent(rawPath);
  } catch {
    return { refuse: { code: "bad-request", detail: "The path has a malformed %-escape." } };
  }
  if (CONTROL.test(pathname))
    return { refuse: { code: "bad-request", detail: "The path contains control characters." } };

  const handler = routes.handlers.find((h) => h.re.test(rawPath));
  if (handler) {
    const allow = handlerAllow(handler.spec);
    if (!allow.includes(method))
      return { refuse: { code: "method-not-allowed", detail: `${method} is not allowed here.`, allow } };
    if (READ_ONLY.includes(method)) return { forward: "no-body" };
    const bodies = handler.spec.bodies;
    if (method === "POST" && bodies && hasBody(headers) && !bodies.includes(mediaType(headers)))
      return {
        refuse: { code: "unsupported-media-type", detail: `This endpoint reads ${bodies.join(" or ")} bodies.` },
      };
    return { forward: "as-is" };
  }

  if (method !== "POST") {
    if (READ_ONLY.includes(method)) return { forward: "no-body" };
    const page = routes.pages.some((re) => re.test(rawPath));
    return {
      refuse: {
        code: "method-not-allowed",
        detail: `${method} is not allowed here.`,
        allow: page ? PAGE_METHODS : READ_ONLY,
      },
    };
  }
  // POST: only a server action, and only on a page
  if (!routes.pages.some((re) => re.test(rawPath)))
    return { refuse: { code: "method-not-allowed", detail: "POST is not allowed here.", allow: READ_ONLY } };
  const type = mediaType(headers);
  const kind =
    type === "multipart/form-data"
      ? "multipart"
      : headers["next-action"] !== undefined && type === "text/plain"
        ? "json"
        : null;
  if (kind && !sameOrigin(headers))
    return {
      refuse: {
        code: "forbidden",
        detail: "A server action is taken only from this site: its Origin must name the host it is sent to.",
      },
    };
  if (kind) return { forward: "checked", kind };
  return {
    refuse: {
      code: "unsupported-media-type",
      detail: "A page takes a POST only as a form's server action (multipart/form-data) or a Next-Action call.",
    },
  };
}

/** The refusal as an answer: problem+json under /api/, plain text elsewhere; the connection closes when a body was left unread. */
export function answerRefusal(req: http.IncomingMessage, res: http.ServerResponse, refusal: Refusal) {
  const e = new AppError(refusal.code, refusal.detail);
  const problem = toProblem(e);
  const api = (req.url ?? "").startsWith("/api/");
  const body = api ? JSON.stringify(problem) : `${problem.title}: ${problem.detail}\n`;
  const headers: http.OutgoingHttpHeaders = {
    "content-type": api ? "application/problem+json" : "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  };
  if (refusal.allow) headers.allow = refusal.allow.join(", ");
  if (!req.complete && hasBody(req.headers)) headers.connection = "close";
  req.resume();
  res.writeHead(e.status, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}

/** The whole body, or null once it passes `limit` bytes (the rest is not read). */
function readLimited(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        req.pause();
        return resolve(null);
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Whether a server action's body parses as the kind it claims to be (with the parsers Next itself uses: undici's FormData, JSON). */
async function parses(body: Buffer, kind: "multipart" | "json", contentType: string): Promise<boolean> {
  try {
    if (kind === "json") JSON.parse(body.toString("utf8"));
    else await new Response(new Uint8Array(body), { headers: { "content-type": contentType } }).formData();
    return true;
  } catch {
    return false;
  }
}

type Forward = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer) => void;

/**
 * Hands a request to the portal (`forward`, the proxy) unless it is refused; a server action's body is
 * read and checked first and then forwarded whole. Reading a body the client abandons is no failure.
 */
export async function guardPortalRequest(
  routes: PortalRoutes,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  forward: Forward,
): Promise<void> {
  const verdict = judgePortalRequest(routes, { method: req.method ?? "", url: req.url ?? "", headers: req.headers });
  if ("refuse" in verdict) return answerRefusal(req, res, verdict.refuse);
  if (verdict.forward !== "checked")
    return forward(req, res, verdict.forward === "no-body" ? Buffer.alloc(0) : undefined);
  let body: Buffer | null;
  try {
    body = await readLimited(req, MAX_ACTION_BODY_BYTES);
  } catch {
    return void res.destroy(); // the client went away mid-body
  }
  if (body === null)
    return answerRefusal(req, res, {
      code: "payload-too-large",
      detail: `A server action's body is at most ${MAX_ACTION_BODY_BYTES / 1024 / 1024} MB.`,
    });
  if (!(await parses(body, verdict.kind, req.headers["content-type"] ?? "")))
    return answerRefusal(req, res, {
      code: "bad-request",
      detail: verdict.kind === "json" ? "The body is not valid JSON." : "The body is not valid multipart/form-data.",
    });
  forward(req, res, body);
}

/** CONNECT is for proxies: answered 405 on the raw socket (Node hands it to no request handler). */
export function refuseConnect(server: http.Server) {
  server.on("connect", (_req: http.IncomingMessage, socket: import("node:stream").Duplex) => {
    const body = "Method Not Allowed: CONNECT is not served here.\n";
    socket.on("error", () => undefined);
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${NEXT_METHODS.join(", ")}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
