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

/**
 * A new client for a database URL (tests and the CLI use this; the app uses `db()`). `poolSize`
 * (PostgreSQL) and `busyTimeoutMs` (SQLite) default to the configuration; fault tests shrink them.
 */
export function createDb(
  url: string,
  { poolSize = env().dbPoolSize, busyTimeoutMs = 10_000 }: { poolSize?: number; busyTimeoutMs?: number } = {},
): Db {
  const client = url.startsWith("file:")
    ? new SqliteClient({
        // busy timeout: concurrent writers (refresh workers, the API) wait instead of failing with SQLITE_BUSY
        adapter: new PrismaBetterSQLite3({ url: `file:${sqliteFilePath(url)}`, timeout: busyTimeoutMs }),
        // a transaction waits for the mutex of SQLite's one connection, not for a pool: queueing longer
        // behind other writes is better than failing
        transactionOptions: { maxWait: 10_000 },
      })
    : (new PostgresClient({
        // connectionTimeoutMillis: a database that cannot be reached (or a pool that stays exhausted)
        // fails the query after 10 s instead of hanging it; callers answer 503 or retry
        adapter: new PrismaPg({ ...pgConnectionFields(url), max: poolSize, connectionTimeoutMillis: 10_000 }),
      }) as unknown as Db);
  attachHotQueries(client, url);
  return client;
}

const g = globalThis as unknown as { __consentryDb?: Db };

/** The process-wide client. */
export function db(): Db {
  return (g.__consentryDb ??= createDb(env().databaseUrl));
}
