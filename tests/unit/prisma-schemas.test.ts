// The per-database schemas are generated from prisma/schema.base.prisma; a stale one means the two
// engines silently diverge.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectedMigrations } from "@/lib/db/migrations";
import { REPO_ROOT } from "../helpers/paths";

const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const checkIn = (script: string) => spawnSync(tsx, [script, "--check"], { cwd: REPO_ROOT, encoding: "utf8" });

describe("prisma/build-schemas.ts --check", () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-schemas-"));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("exits 0: the checked-in schemas match schema.base.prisma", () => {
    const r = checkIn(path.join(REPO_ROOT, "prisma", "build-schemas.ts"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("exits 1 and names the file when a generated schema is stale", () => {
    // a copy of the prisma folder with the SQLite schema edited by hand
    fs.cpSync(path.join(REPO_ROOT, "prisma", "build-schemas.ts"), path.join(scratch, "build-schemas.ts"));
    fs.cpSync(path.join(REPO_ROOT, "prisma", "schema.base.prisma"), path.join(scratch, "schema.base.prisma"));
    for (const kind of ["sqlite", "postgresql"]) {
      fs.mkdirSync(path.join(scratch, kind));
      fs.cpSync(path.join(REPO_ROOT, "prisma", kind, "schema.prisma"), path.join(scratch, kind, "schema.prisma"));
    }
    fs.appendFileSync(path.join(scratch, "sqlite", "schema.prisma"), "\n// hand edit\n");
    const r = checkIn(path.join(scratch, "build-schemas.ts"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sqlite\/schema\.prisma is out of date/);
    expect(r.stderr).not.toMatch(/postgresql/);
  });
});

describe("migrations", () => {
  it("exist under the same names for SQLite and PostgreSQL", () => {
    const sqlite = expectedMigrations("sqlite", REPO_ROOT);
    expect(sqlite.length).toBeGreaterThan(0);
    expect(expectedMigrations("postgresql", REPO_ROOT)).toEqual(sqlite);
  });
});
