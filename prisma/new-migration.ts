// `npm run db:migration -- <name>`: after editing prisma/schema.base.prisma, writes the per-database
// schemas and one new migration for each database. PostgreSQL diffs its migration history (shadow
// database) against the schema; SQLite diffs the committed schema against the new one (the wasm
// engine has no SQLite shadow database through the driver adapter).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run db:migration -- <name_in_snake_case>");
  process.exit(2);
}
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const prisma = path.join(root, "node_modules", "prisma", "build", "index.js");
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
execFileSync(process.execPath, [path.join(root, "node_modules", "tsx", "dist", "cli.mjs"), "prisma/build-schemas.ts"], {
  cwd: root,
  stdio: "inherit",
});

function diff(kind: "sqlite" | "postgresql", from: string[], env: Record<string, string>) {
  const args = [
    prisma,
    "migrate",
    "diff",
    "--config",
    "prisma/prisma.config.ts",
    ...from,
    "--to-schema-datamodel",
    `prisma/${kind}/schema.prisma`,
    "--script",
  ];
  return execFileSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
}

const committed = path.join(os.tmpdir(), `consentry-schema-${process.pid}.prisma`);
fs.writeFileSync(
  committed,
  execFileSync("git", ["show", "HEAD:prisma/sqlite/schema.prisma"], { cwd: root, encoding: "utf8" }),
);
const outputs = {
  sqlite: diff("sqlite", ["--from-schema-datamodel", committed], {
    CONSENTRY_DATA_DIR: path.join(os.tmpdir(), "consentry-migration"),
  }),
  postgresql: diff("postgresql", ["--from-migrations", "prisma/postgresql/migrations"], {
    DATABASE_URL: process.env.MIGRATION_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres",
  }),
};
fs.rmSync(committed);
for (const [kind, sql] of Object.entries(outputs)) {
  if (!/\S/.test(sql.replace(/^--.*$/gm, ""))) {
    console.error(`${kind}: no changes`);
    continue;
  }
  const dir = path.join(root, "prisma", kind, "migrations", `${stamp}_${name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "migration.sql"), sql);
  console.error(`wrote ${path.relative(root, dir)}/migration.sql`);
}
