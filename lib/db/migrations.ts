// Applies the checked-in migrations (prisma migrate deploy through the JS engine) and reports
// whether a database is current, for start-up and /api/health.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Db } from "@/lib/db/client";
import { childProcessEnv } from "@/lib/env";

export function migrationsDir(dbKind: "sqlite" | "postgresql", root = process.cwd()): string {
  return path.join(root, "prisma", dbKind, "migrations");
}

export function expectedMigrations(dbKind: "sqlite" | "postgresql", root = process.cwd()): string[] {
  return fs
    .readdirSync(migrationsDir(dbKind, root), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(migrationsDir(dbKind, root), d.name, "migration.sql")))
    .map((d) => d.name)
    .sort();
}

/** Runs `prisma migrate deploy` for `databaseUrl` in a child process; rejects with its output on failure. */
export function applyMigrations({
  databaseUrl,
  dataDir,
  root = process.cwd(),
}: {
  databaseUrl: string;
  dataDir?: string;
  root?: string;
}): Promise<void> {
  const cli = path.join(root, "node_modules", "prisma", "build", "index.js");
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [cli, "migrate", "deploy", "--config", path.join(root, "prisma", "prisma.config.ts")],
      {
        cwd: root,
        env: childProcessEnv({
          DATABASE_URL: databaseUrl,
          ...(dataDir ? { CONSENTRY_DATA_DIR: dataDir } : {}),
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
          CHECKPOINT_DISABLE: "1",
        }),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`prisma migrate deploy failed (exit ${code}):\n${out.slice(-4000)}`)),
    );
  });
}

export async function migrationStatus({ db, dbKind }: { db: Db; dbKind: "sqlite" | "postgresql" }) {
  const expected = expectedMigrations(dbKind);
  let applied: string[] = [];
  try {
    const rows = await db.$queryRawUnsafe<Array<{ migration_name: string }>>(
      `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    applied = rows.map((r) => r.migration_name);
  } catch {
    applied = [];
  }
  const pending = expected.filter((m) => !applied.includes(m));
  return { current: pending.length === 0, pending, applied: applied.length };
}
