// One Prisma client per process, for SQLite (embedded default) or PostgreSQL, chosen by lib/env.ts.
// Both generated clients come from the same schema source, so one type describes both.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as SqliteClient } from "@/lib/generated/prisma-sqlite/client";
import { PrismaClient as PostgresClient } from "@/lib/generated/prisma-postgresql/client";
import { env } from "@/lib/env";
import { pgConnectionFields, sqliteFilePath } from "@/lib/db/urls";
import { attachHotQueries } from "@/lib/db/hot-queries";

export type Db = SqliteClient;
export type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/** A new client for a database URL (tests and the CLI use this; the app uses `db()`). */
export function createDb(url: string): Db {
  const client = url.startsWith("file:")
    ? // busy timeout: concurrent writers (refresh workers, the API) wait instead of failing with SQLITE_BUSY
      new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: `file:${sqliteFilePath(url)}`, timeout: 10_000 }) })
    : (new PostgresClient({ adapter: new PrismaPg({ ...pgConnectionFields(url), max: 10 }) }) as unknown as Db);
  attachHotQueries(client, url);
  return client;
}

const g = globalThis as unknown as { __consentryDb?: Db };

/** The process-wide client. */
export function db(): Db {
  return (g.__consentryDb ??= createDb(env().databaseUrl));
}
