// The OpenAPI 3.1 document served at GET /api/v1/openapi.json: valid per @readme/openapi-parser, and
// complete — every (method, path) that a route file under app/api/v1 exports is documented, and
// every entry of the route table has a route file. Adding a route without docs fails here.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileErrors, validate } from "@readme/openapi-parser";
import { GET as openapiJson } from "@/app/api/v1/openapi.json/route";
import { API_ROUTES } from "@/lib/api/routes";
import { REPO_ROOT, TMP_ROOT } from "../helpers/paths";
import { routeFiles } from "../helpers/route-files";

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        responses: Record<string, unknown>;
        requestBody?: unknown;
        parameters?: Array<{ name: string; in: string }>;
      }
    >
  >;
  components: { schemas: Record<string, unknown> };
};

const APP_DIR = path.join(REPO_ROOT, "app");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Every route.ts under <appDir>/api/v1 as (method, OpenAPI path) pairs: `[id]` → `{id}`, exported handlers by name. */
function routeFileOperations(appDir = APP_DIR): Array<{ method: string; path: string; file: string }> {
  return routeFiles(appDir, path.join(appDir, "api", "v1")).flatMap((r) =>
    r.methods
      .filter((m) => (METHODS as readonly string[]).includes(m))
      .map((method) => ({
        method,
        path: "/" + r.segments.map((s) => s.replace(/^\[\[?(\.\.\.)?(\w+)\]\]?$/, "{$2}")).join("/"),
        file: r.file,
      })),
  );
}

async function document(): Promise<{ res: Response; doc: Doc }> {
  const res = await openapiJson();
  return { res, doc: (await res.json()) as Doc };
}

describe("GET /api/v1/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document (@readme/openapi-parser)", async () => {
    const { res, doc } = await document();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(doc.openapi).toBe("3.1.0");
    // validate() dereferences in place: hand it a copy
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(result.warnings ?? []).toEqual([]);
  });

  it("documents every operation of the route table with its schemas, errors and parameters", async () => {
    const { doc } = await document();
    for (const r of API_ROUTES) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op!.operationId).toBe(r.id);
      // and 503 on every operation (the database away), with Retry-After
      expect(Object.keys(op!.responses).sort()).toEqual(
        [String(r.response.status), ...r.errors.map(String), "503"].sort(),
      );
      expect(op!.responses["503"]).toMatchObject({ headers: { "Retry-After": { schema: { type: "integer" } } } });
      if (r.body) expect(op!.requestBody, `${r.id} request body`).toBeDefined();
      if (r.path.includes("{id}"))
        expect(op!.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: "id", in: "path" })]));
    }
    const list = doc.paths["/api/v1/connections"]!.get!;
    expect(list.parameters!.map((p) => p.name).sort()).toEqual([
      "cursor",
      "limit",
      "metadata.{key}",
      "provider",
      "status",
      "tenant_id",
    ]);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["Connection", "Token", "Problem", "CreateConnection", "ProviderList"]),
    );
  });

  it("every (method, path) exported by a route file under app/api/v1 is in the document, and every route-table entry has a route file", async () => {
    const { doc } = await document();
    const ops = routeFileOperations();
    expect(ops.length).toBeGreaterThanOrEqual(API_ROUTES.length);
    const undocumented = ops
      .filter((o) => o.path !== "/api/v1/openapi.json" && !doc.paths[o.path]?.[o.method.toLowerCase()])
      .map((o) => `${o.method} ${o.path} (${o.file})`);
    expect(undocumented, "route files without OpenAPI documentation").toEqual([]);
    const withoutFile = API_ROUTES.filter((r) => !ops.some((o) => o.method === r.method && o.path === r.path)).map(
      (r) => `${r.method} ${r.path}`,
    );
    expect(withoutFile, "route-table entries without a route file").toEqual([]);
    // and the document has nothing the code does not serve
    const documented = Object.entries(doc.paths).flatMap(([p, m]) =>
      Object.keys(m).map((method) => `${method.toUpperCase()} ${p}`),
    );
    expect(documented.sort()).toEqual(
      ops
        .filter((o) => o.path !== "/api/v1/openapi.json")
        .map((o) => `${o.method} ${o.path}`)
        .sort(),
    );
  });

  it("the walker itself: route files of every export style, [id] → {id}, route groups ignored", () => {
    fs.mkdirSync(TMP_ROOT, { recursive: true });
    const appDir = fs.mkdtempSync(path.join(TMP_ROOT, "walker-"));
    try {
      const dir = path.join(appDir, "api", "v1", "(group)", "things", "[id]");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(
        path.join(dir, "route.ts"),
        "export const GET = () => new Response();\nexport async function DELETE() { return new Response(); }\nconst h = () => new Response();\nexport { h as PATCH };\n// POST is not exported\n",
      );
      expect(
        routeFileOperations(appDir)
          .map((o) => `${o.method} ${o.path}`)
          .sort(),
      ).toEqual(["DELETE /api/v1/things/{id}", "GET /api/v1/things/{id}", "PATCH /api/v1/things/{id}"]);
    } finally {
      fs.rmSync(appDir, { recursive: true, force: true });
    }
  });
});
