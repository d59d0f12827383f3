// Administrative SQL (create/drop databases) straight through `pg`, outside Prisma.
import pg from "pg";

// Test-harness setting, not app configuration (lib/env.ts stays the app's only reader of process.env).
export const PG_ADMIN_URL = process.env.CONSENTRY_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export function pgUrlFor(database: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function withPgAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE, retrying while another session briefly holds the template (SQLSTATE 55006). */
export async function createPgDatabase(name: string, template?: string): Promise<void> {
  const sql = `CREATE DATABASE ${quoteIdent(name)}${template ? ` TEMPLATE ${quoteIdent(template)}` : " TEMPLATE template0"}`;
  await withPgAdmin(async (c) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await c.query(sql);
        return;
      } catch (e) {
        if ((e as { code?: string }).code !== "55006" || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  });
}

export async function dropPgDatabases(names: string[]): Promise<void> {
  if (names.length === 0) return;
  await withPgAdmin(async (c) => {
    for (const name of names) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  });
}

/** Database names matching a POSIX regular expression (not LIKE: "_" is a wildcard there). */
export async function listPgDatabases(regex: string): Promise<string[]> {
  return withPgAdmin(async (c) =>
    (await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname ~ $1", [regex])).rows.map(
      (r) => r.datname,
    ),
  );
}
