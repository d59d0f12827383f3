// The rotation job and the leak tests trust SECRET_FIELDS to name every encrypted column.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SECRET_FIELDS, contextFor } from "@/lib/crypto/secret-fields";
import { REPO_ROOT } from "../helpers/paths";

function encColumnsInSchema(): Record<string, string[]> {
  const schema = fs.readFileSync(path.join(REPO_ROOT, "prisma", "schema.base.prisma"), "utf8");
  const out: Record<string, string[]> = {};
  for (const m of schema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    const cols = [...m[2]!.matchAll(/^\s+(\w+Enc)\s/gm)].map((c) => c[1]!);
    if (cols.length) out[m[1]!] = cols.sort();
  }
  return out;
}

describe("SECRET_FIELDS", () => {
  it("lists exactly the *Enc columns of the schema", () => {
    const listed = Object.fromEntries(SECRET_FIELDS.map((s) => [s.table, [...s.fields].sort()]));
    expect(listed).toEqual(encColumnsInSchema());
  });

  it("names each Prisma delegate after its model", () => {
    for (const s of SECRET_FIELDS) expect(s.model).toBe(s.table[0]!.toLowerCase() + s.table.slice(1));
  });

  it("binds token sets to their connection and other rows to themselves", () => {
    const row = { id: "ts_1", organizationId: "org_1", connectionId: "conn_1" };
    expect(contextFor("TokenSet", row, "accessTokenEnc")).toEqual({
      table: "TokenSet",
      organizationId: "org_1",
      rowId: "conn_1",
      field: "accessTokenEnc",
    });
    expect(contextFor("OAuthApp", { id: "app_1", organizationId: null }, "clientSecretEnc")).toEqual({
      table: "OAuthApp",
      organizationId: null,
      rowId: "app_1",
      field: "clientSecretEnc",
    });
  });
});
