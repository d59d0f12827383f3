// Per-file databases for integration tests. `describeEachDb` runs a suite once per engine, each on
// a fresh copy of the run's migrated template; the copy is dropped when the suite ends.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { createDb, type Db } from "@/lib/db/client";
import { sqliteFilePath } from "@/lib/db/urls";
import { createPgDatabase, dropPgDatabases, pgUrlFor } from "./pg-admin";
import type { DbKind, TestDbRun } from "./db-run";

export type { DbKind } from "./db-run";

export type TestDatabase = { kind: DbKind; url: string; db: Db };
type Scratch = { kind: DbKind; url: string; drop: () => Promise<void> };

function run(): TestDbRun {
  return inject("consentryTestDb");
}

/** The engines this run covers (both by default). */
export function dbKinds(): DbKind[] {
  return run().kinds;
}

const suffix = () => crypto.randomBytes(4).toString("hex");

/** A fresh database holding the current schema and no rows. */
export async function cloneTemplate(kind: DbKind): Promise<Scratch> {
  const r = run();
  if (kind === "sqlite") {
    const file = path.join(r.runDir, `t_${suffix()}.db`);
    fs.copyFileSync(r.sqliteTemplate!, file);
    return { kind, url: `file:${file}`, drop: async () => removeSqlite(file) };
  }
  const name = `consentry_t_${r.runId}_${suffix()}`;
  await createPgDatabase(name, r.pgTemplate!);
  return { kind, url: pgUrlFor(name), drop: () => dropPgDatabases([name]) };
}

/** A brand-new database with no tables at all (for migration tests). */
export async function createEmptyDatabase(kind: DbKind): Promise<Scratch> {
  const r = run();
  if (kind === "sqlite") {
    const file = path.join(r.runDir, `e_${suffix()}.db`);
    return { kind, url: `file:${file}`, drop: async () => removeSqlite(file) };
  }
  const name = `consentry_e_${r.runId}_${suffix()}`;
  await createPgDatabase(name);
  return { kind, url: pgUrlFor(name), drop: () => dropPgDatabases([name]) };
}

function removeSqlite(file: string) {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

/** Runs `fn` as one describe block per engine; `getDb()` is valid inside tests and hooks. */
export function describeEachDb(name: string, fn: (getDb: () => TestDatabase) => void) {
  for (const kind of dbKinds()) {
    describe(`${name} [${kind}]`, () => {
      let current: TestDatabase | undefined;
      let scratch: Scratch | undefined;
      beforeAll(async () => {
        scratch = await cloneTemplate(kind);
        current = { kind, url: scratch.url, db: createDb(scratch.url) };
      });
      afterAll(async () => {
        await current?.db.$disconnect();
        await scratch?.drop();
      });
      fn(() => {
        if (!current) throw new Error("the test database is only available inside tests and hooks");
        return current;
      });
    });
  }
}

/** Every table's name, excluding engine internals. */
export async function listTables({ db, kind }: TestDatabase): Promise<string[]> {
  const rows =
    kind === "sqlite"
      ? await db.$queryRawUnsafe<Array<{ name: string }>>(
          `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`,
        )
      : await db.$queryRawUnsafe<Array<{ name: string }>>(
          `SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema()`,
        );
  return rows.map((r) => r.name).sort();
}

/** Every row of every table as JSON text, for "is this string stored anywhere?" checks. */
export async function dumpAllRows(t: TestDatabase): Promise<{ tables: string[]; rowCount: number; text: string }> {
  const tables = await listTables(t);
  const parts: string[] = [];
  let rowCount = 0;
  for (const table of tables) {
    const rows = await t.db.$queryRawUnsafe<unknown[]>(`SELECT * FROM "${table.replaceAll('"', '""')}"`);
    rowCount += rows.length;
    parts.push(JSON.stringify({ table, rows }, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  }
  return { tables, rowCount, text: parts.join("\n") };
}

/** The raw bytes of a SQLite database (main file, WAL and journal): catches free pages a SELECT cannot see. */
export function sqliteRawBytes(url: string): Buffer {
  const file = sqliteFilePath(url);
  return Buffer.concat(
    [file, `${file}-wal`, `${file}-journal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)),
  );
}
