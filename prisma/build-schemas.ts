// Writes one Prisma schema per database from prisma/schema.base.prisma, the single source of truth.
// `--check` exits non-zero when a written schema is out of date (used by the test suite).
import fs from "node:fs";
import path from "node:path";

export const PROVIDERS = {
  sqlite: { datasource: "sqlite", placeholderUrl: "file:./placeholder.db" },
  postgresql: { datasource: "postgresql", placeholderUrl: "postgresql://postgres@127.0.0.1:5432/consentry" },
} as const;
export type DbKind = keyof typeof PROVIDERS;

const dir = path.dirname(new URL(import.meta.url).pathname);

export function renderSchema(kind: DbKind): string {
  const base = fs.readFileSync(path.join(dir, "schema.base.prisma"), "utf8");
  const p = PROVIDERS[kind];
  return `// GENERATED from prisma/schema.base.prisma by \`npm run db:schemas\`. Do not edit.
generator client {
  provider   = "prisma-client"
  output     = "../../lib/generated/prisma-${kind}"
  engineType = "client"
  moduleFormat = "esm"
}

datasource db {
  provider = "${p.datasource}"
  // Only for \`prisma generate\`; at run time the URL comes from lib/env.ts through a driver adapter.
  url      = "${p.placeholderUrl}"
}

${base}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const check = process.argv.includes("--check");
  let stale = false;
  for (const kind of Object.keys(PROVIDERS) as DbKind[]) {
    const file = path.join(dir, kind, "schema.prisma");
    const want = renderSchema(kind);
    const have = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    if (have === want) continue;
    if (check) {
      console.error(`${path.relative(process.cwd(), file)} is out of date: run npm run db:schemas`);
      stale = true;
      continue;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, want);
    console.error(`wrote ${path.relative(process.cwd(), file)}`);
  }
  process.exit(stale ? 1 : 0);
}
