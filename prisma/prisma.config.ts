// Prisma CLI configuration: JS engine with driver adapters (no native engine download; see README).
// The database comes from lib/env.ts like everywhere else.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { env } from "../lib/env";
import { pgConnectionFields, sqliteFilePath } from "../lib/db/urls";

const { databaseUrl, dbKind } = env();

// prisma/orm#27403: the wasm schema engine cannot read PostgreSQL's `name`/"char" columns through
// adapter-pg; hand them over as text.
function nameAsText<T extends object>(adapter: T): T {
  for (let p = Object.getPrototypeOf(adapter); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, "performIO") && !p.__nameAsText) {
      const io = p.performIO;
      p.performIO = async function (this: unknown, q: unknown) {
        const r = await io.call(this, q);
        for (const f of r.fields ?? []) {
          if (f.dataTypeID === 19 || f.dataTypeID === 18) f.dataTypeID = 25;
          else if (f.dataTypeID === 1003 || f.dataTypeID === 1002) f.dataTypeID = 1009;
        }
        return r;
      };
      p.__nameAsText = true;
    }
  }
  return adapter;
}

function postgresMigrationAdapter(url: string) {
  // adapter-pg 6.19 ignores the shadow database name when given a connection string: use fields.
  const main = pgConnectionFields(url);
  return {
    provider: "postgres" as const,
    adapterName: "@prisma/adapter-pg",
    connect: async () => nameAsText(await new PrismaPg(main).connect()),
    connectToShadowDb: async () => {
      const admin = await new PrismaPg(main).connect();
      const database = `prisma_shadow_${crypto.randomUUID().replaceAll("-", "")}`;
      await admin.executeScript(`CREATE DATABASE "${database}"`);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const shadow: any = nameAsText(await new PrismaPg({ ...main, database }).connect());
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        await admin.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        await admin.dispose();
      };
      return shadow;
    },
  };
}

function sqliteMigrationAdapter(file: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return new PrismaBetterSQLite3({ url: `file:${file}` });
}

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: `${dbKind}/schema.prisma`,
  migrations: { path: `${dbKind}/migrations` },
  async adapter() {
    /* eslint-disable @typescript-eslint/no-explicit-any */
    if (dbKind === "postgresql") return postgresMigrationAdapter(databaseUrl) as any;
    return sqliteMigrationAdapter(sqliteFilePath(databaseUrl)) as any;
  },
});
