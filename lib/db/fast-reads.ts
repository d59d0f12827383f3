// The token endpoint's two hot reads as prepared statements on the SQLite driver itself. Prisma 6's
// JS engine compiles every query anew (~0.4 ms of CPU even for raw SQL); a prepared statement costs
// a few microseconds. Read-only handle on the same file: with WAL it sees every committed write.
// PostgreSQL keeps the Prisma path (callers fall back when this returns null).
import Database from "better-sqlite3";
import type { Db } from "@/lib/db/client";
import { sqliteFilePath } from "@/lib/db/urls";

const urls = new WeakMap<object, string>();

/** Called by createDb: remembers which database a client talks to. */
export function registerDbUrl(client: object, url: string) {
  urls.set(client, url);
}

type Row = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

function build(file: string) {
  const handle = new Database(file, { readonly: true, fileMustExist: true });
  handle.pragma("busy_timeout = 5000");
  const apiKey = handle.prepare(`SELECT "id", "organizationId", "scopes", "prefix", "expiresAt", "revokedAt" FROM "ApiKey" WHERE "hash" = ?`);
  const connection = handle.prepare(
    `SELECT c."id", c."providerId", c."status", c."expiresAt", c."scopes", c."externalTenantId", c."lastErrorCode", c."leaseUntil", t."accessTokenEnc", t."tokenType", t."version"
     FROM "Connection" c LEFT JOIN "TokenSet" t ON t."connectionId" = c."id" WHERE c."id" = ? AND c."organizationId" = ?`,
  );
  return {
    apiKeyByHash(hash: string) {
      const r = apiKey.get(hash) as Row | undefined;
      return r ? { id: r.id as string, organizationId: r.organizationId as string, scopes: r.scopes as string, prefix: r.prefix as string, expiresAt: date(r.expiresAt), revokedAt: date(r.revokedAt) } : undefined;
    },
    connectionWithTokens(connectionId: string, organizationId: string) {
      const r = connection.get(connectionId, organizationId) as Row | undefined;
      if (!r) return undefined;
      return {
        id: r.id as string, providerId: r.providerId as string, status: r.status as string, expiresAt: date(r.expiresAt), scopes: r.scopes as string,
        externalTenantId: (r.externalTenantId as string | null) ?? null, lastErrorCode: (r.lastErrorCode as string | null) ?? null, leaseUntil: date(r.leaseUntil),
        accessTokenEnc: (r.accessTokenEnc as string | null) ?? null, tokenType: (r.tokenType as string | null) ?? null, version: r.version === null || r.version === undefined ? null : Number(r.version),
      };
    },
  };
}

/** Audit rows in one prepared, transactional insert (the API audits every call). */
function buildAuditWriter(file: string) {
  const handle = new Database(file, { fileMustExist: true });
  handle.pragma("busy_timeout = 10000");
  const cols = ["id", "organizationId", "actorType", "actorId", "actorLabel", "action", "targetType", "targetId", "outcome", "ip", "requestId", "details", "createdAt"] as const;
  const insert = handle.prepare(`INSERT INTO "AuditEvent" (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`);
  // Stored as Prisma stores DateTime on SQLite: ISO text with an explicit +00:00 offset.
  const iso = (d: Date) => d.toISOString().replace("Z", "+00:00");
  const many = handle.transaction((rows: Array<Record<string, unknown>>) => {
    for (const r of rows) insert.run(cols.map((c) => (r[c] instanceof Date ? iso(r[c] as Date) : (r[c] ?? null))));
  });
  return { insertAudit: (rows: Array<Record<string, unknown>>) => many(rows) };
}

const writers = new Map<string, ReturnType<typeof buildAuditWriter> | null>();

/** A prepared audit writer for this client's SQLite database, or null (PostgreSQL). */
export function fastAuditWriter(db: Db): ReturnType<typeof buildAuditWriter> | null {
  const url = urls.get(db);
  if (!url || !url.startsWith("file:")) return null;
  const file = sqliteFilePath(url);
  if (!writers.has(file)) {
    try {
      writers.set(file, buildAuditWriter(file));
    } catch {
      writers.set(file, null);
    }
  }
  return writers.get(file) ?? null;
}

const handles = new Map<string, ReturnType<typeof build> | null>();

/** Prepared reads for this client's database, or null (PostgreSQL, or the file cannot be opened). */
export function fastReads(db: Db): ReturnType<typeof build> | null {
  const url = urls.get(db);
  if (!url || !url.startsWith("file:")) return null;
  const file = sqliteFilePath(url);
  if (!handles.has(file)) {
    try {
      handles.set(file, build(file));
    } catch {
      handles.set(file, null);
    }
  }
  return handles.get(file) ?? null;
}
