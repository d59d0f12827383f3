// The OpenAPI 3.1 document, generated from the route table and the same zod schemas the handlers
// validate with.
import { z } from "zod";
import { env } from "@/lib/env";
import { API_ROUTES } from "@/lib/api/routes";
import { ZProblem } from "@/lib/api/schemas";
import { PROBLEM_BASE } from "@/lib/errors";
import { PROXY_METHODS } from "@/lib/proxy/proxy-request";

const PROBLEMS: Record<number, { type: string; description: string }> = {
  400: { type: "bad-request", description: "Malformed request (e.g. an API key in the query string, invalid JSON)" },
  401: { type: "unauthorized", description: "No API key, or an unknown, malformed, expired or revoked one" },
  403: { type: "forbidden", description: "The API key lacks the scope" },
  404: { type: "not-found", description: "Unknown connection — or another organization's, indistinguishably" },
  409: {
    type: "needs-reconsent",
    description: "The connection needs consent (again): send a consent link. `reason` says why",
  },
  422: { type: "validation", description: "Invalid input; `errors` lists `{ path, message }`" },
  429: { type: "rate-limited", description: "Per-key or per-organization rate limit; see `Retry-After`" },
  502: {
    type: "refresh-failed",
    description: "The provider did not issue a fresh token; retryable, see `Retry-After`",
  },
  503: {
    type: "unavailable",
    description: "The database (or another dependency) is unavailable for a moment — never a 500; see `Retry-After`",
  },
};

const components: Record<string, unknown> = {};

/** JSON Schema for a zod schema; named schemas (`.meta({ id })`) become shared components. */
function schema(s: z.ZodType, io: "input" | "output") {
  const out = z.toJSONSchema(s, { target: "draft-2020-12", io, unrepresentable: "any" }) as Record<string, unknown>;
  delete out.$schema;
  const defs = (out.$defs ?? {}) as Record<string, unknown>;
  delete out.$defs;
  const rewrite = (v: unknown): unknown =>
    JSON.parse(JSON.stringify(v).replace(/"#\/\$defs\//g, '"#/components/schemas/'));
  for (const [id, def] of Object.entries(defs)) components[id] = rewrite(def);
  const id = (out.id ?? undefined) as string | undefined;
  if (id) {
    delete out.id;
    components[id] = rewrite(out);
    return { $ref: `#/components/schemas/${id}` };
  }
  return rewrite(out) as Record<string, unknown>;
}

function parameters(route: (typeof API_ROUTES)[number]) {
  const list: Array<Record<string, unknown>> = [];
  for (const [where, obj] of [
    ["path", route.params],
    ["query", route.query],
  ] as const) {
    if (!obj) continue;
    const js = schema(obj, "input") as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, s] of Object.entries(js.properties ?? {})) {
      list.push({ name, in: where, required: where === "path" || (js.required ?? []).includes(name), schema: s });
    }
  }
  for (const p of route.queryPatterns ?? [])
    list.push({ name: p.name, in: "query", required: false, description: p.description, schema: { type: "string" } });
  return list;
}

const problem = (description: string) => ({
  description: `${description} (problem+json)`,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

/** The provider proxy (lib/proxy/proxy-request.ts) is not in the route table: its bodies are the provider's, streamed. */
function proxyOperations() {
  const ops: Record<string, unknown> = {};
  for (const method of PROXY_METHODS) {
    ops[method.toLowerCase()] = {
      operationId: `proxy${method[0]}${method.slice(1).toLowerCase()}`,
      summary: `Call the provider's API (${method}) with the connection's credential`,
      description:
        "Forwards to the provider's API base (the catalogue's, or the generic provider's `api_base_url` setting) with a fresh credential injected. `{tenant}` in the path is the stored tenant id. The caller's Authorization, cookies and hop-by-hop headers are never forwarded, nor is the provider's Set-Cookie returned. A path that climbs above the base (`..`, `%2e%2e`, encoded slashes, absolute URLs) gets 400 and nothing is sent. One forced refresh and retry on a provider 401. Request bodies ≤ 10 MB; answers streamed up to `CONSENTRY_PROXY_MAX_RESPONSE_MB`; 60 s in all. The credential is masked wherever the provider echoes it.",
      tags: ["Connections"],
      security: [{ apiKey: [] }],
      "x-required-scope": "proxy",
      parameters: [
        { name: "id", in: "path", required: true, schema: { type: "string" } },
        {
          name: "path",
          in: "path",
          required: true,
          description: "The path below the provider's API base (may contain slashes)",
          schema: { type: "string" },
        },
        {
          name: "Consentry-Token",
          in: "header",
          required: false,
          description:
            "`app`: the Microsoft app-only token for the connection's tenant; `user` (default): the connection's token",
          schema: { type: "string", enum: ["app", "user"] },
        },
      ],
      ...(method === "GET" || method === "DELETE"
        ? {}
        : { requestBody: { required: false, content: { "*/*": { schema: {} } } } }),
      responses: {
        default: {
          description: "The provider's answer, passed through (`Consentry-Proxy: provider`)",
          headers: { "Consentry-Proxy": { schema: { type: "string", const: "provider" } } },
          content: { "*/*": { schema: {} } },
        },
        "400": problem("The path leaves the API base, or the API address is not one Consentry calls"),
        "401": problem(PROBLEMS[401]!.description),
        "403": problem(PROBLEMS[403]!.description),
        "404": problem(PROBLEMS[404]!.description),
        "409": problem("The connection needs consent, or has no API base URL or tenant id yet"),
        "413": problem("The request body is larger than 10 MB"),
        "429": problem(PROBLEMS[429]!.description),
        "502": problem("The provider could not be reached, or its answer is larger than the cap"),
        "503": problem(PROBLEMS[503]!.description),
        "504": problem("The provider did not answer within 60 seconds"),
      },
    };
  }
  return ops;
}

export function buildOpenApiDocument() {
  const problemSchema = (() => {
    const ref = schema(ZProblem, "output") as { $ref?: string };
    return ref.$ref ? components.Problem : ref;
  })();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of API_ROUTES) {
    const op: Record<string, unknown> = {
      operationId: r.id,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.path.includes("/connections") ? "Connections" : "Providers"],
      security: [{ apiKey: [] }],
      "x-required-scope": r.scope,
      parameters: parameters(r),
      responses: {
        [String(r.response.status)]: {
          description: r.response.description,
          ...(r.noStore ? { headers: { "Cache-Control": { schema: { type: "string", const: "no-store" } } } } : {}),
          content: { "application/json": { schema: schema(r.response.schema, "output") } },
        },
        ...Object.fromEntries(
          // any operation may meet a database that is away
          [...r.errors, 503].map((code) => [
            String(code),
            {
              description: `${PROBLEMS[code]!.description} (type ${PROBLEM_BASE}/${PROBLEMS[code]!.type})`,
              ...(code === 429 || code === 502 || code === 503
                ? { headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" } } }
                : {}),
              content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
            },
          ]),
        ),
      },
    };
    if (r.body)
      op.requestBody = {
        required: !r.bodyOptional,
        content: { "application/json": { schema: schema(r.body, "input") } },
      };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  paths["/api/v1/connections/{id}/proxy/{path}"] = proxyOperations();
  return {
    openapi: "3.1.0",
    info: {
      title: "Consentry REST API",
      version: "1.0.0",
      description:
        "Connections and fresh tokens for downstream jobs. Authenticate with `Authorization: Bearer csk_…` (API keys belong to one organization and carry scopes). Errors are RFC 9457 problem+json. A method a path does not take gets 405 `method-not-allowed` with `Allow`.",
    },
    servers: [{ url: env().publicUrl }],
    tags: [{ name: "Providers" }, { name: "Connections" }],
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "csk_ API key",
          description: "An API key created in the portal or with `npm run cli -- api-key create`.",
        },
      },
      schemas: { ...components, Problem: problemSchema },
    },
  };
}
