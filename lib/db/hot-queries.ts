// Hand-written SQL because it was measured to pay: Prisma's per-query compilation cost more than the request.
// The hot statements, on the database driver itself and prepared once: the REST API's API-key
// lookup, connection + token-set read, both in one (the token endpoint), the audit batch, and the
// scheduler's batched refresh commit.
// Prisma 6's JS engine compiles every query anew (~0.4 ms of CPU even for raw SQL, more than the
// rest of a token request); a prepared statement costs microseconds. Everything else goes through Prisma.
//
// SQLite: a read-only better-sqlite3 handle on the same file (WAL: it sees every committed write),
// and writes (audit batches, refresh commits) in a worker thread, so their commits (fsync, WAL
// checkpoints, waits for the write lock) never stall the event loop. PostgreSQL: a small pg pool of
// its own with named (server-side prepared) statements.
//
// One instance per Prisma client, created on first use and closed by the client's $disconnect.
import path from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import pg from "pg";
import { pgConnectionFields, sqliteFilePath } from "@/lib/db/urls";
import { env } from "@/lib/env";

export type ApiKeyRow = {
  id: string;
  organizationId: string;
  scopes: string;
  prefix: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
};
export type ConnectionTokenRow = {
  id: string;
  providerId: string;
  status: string;
  expiresAt: Date | null;
  scopes: string;
  externalTenantId: string | null;
  lastErrorCode: string | null;
  leaseUntil: Date | null;
  accessTokenEnc: string | null;
  tokenType: string | null;
  version: number | null;
};
export const AUDIT_COLUMNS = [
  "id",
  "organizationId",
  "actorType",
  "actorId",
  "actorLabel",
  "action",
  "targetType",
  "targetId",
  "outcome",
  "ip",
  "requestId",
  "details",
  "createdAt",
] as const;
/** An audit event's values between `id` and `createdAt`, in AUDIT_COLUMNS order. */
export type AuditValues = [
  organizationId: string | null,
  actorType: string,
  actorId: string | null,
  actorLabel: string | null,
  action: string,
  targetType: string | null,
  targetId: string | null,
  outcome: string,
  ip: string | null,
  requestId: string | null,
  details: string,
];
/** One audit row in AUDIT_COLUMNS order (a tuple: the cheapest shape to build and bind), created at epoch ms. */
export type AuditInsertRow = [id: string, ...values: AuditValues, createdAtMs: number];
const CREATED_AT = AUDIT_COLUMNS.indexOf("createdAt");

export type ApiKeyWithConnection = { key: ApiKeyRow; connection: ConnectionTokenRow | undefined };

export interface HotQueries {
  apiKeyByHash(hash: string): Promise<ApiKeyRow | undefined>;
  connectionWithTokens(connectionId: string, organizationId: string): Promise<ConnectionTokenRow | undefined>;
  /** the key and, in the same statement, connection `connectionId` of the key's organization (undefined when it has none such) */
  apiKeyWithConnection(hash: string, connectionId: string): Promise<ApiKeyWithConnection | undefined>;
  /** resolves once the rows are committed */
  insertAudit(rows: AuditInsertRow[]): Promise<void>;
  /** a batch of refresh commits (JSON rows of lib/tokens/refresh-batch.ts); resolves to the connection ids written */
  commitRefreshes(json: string): Promise<string[]>;
  close(): Promise<void>;
}

const API_KEY_SQL = `SELECT "id", "organizationId", "scopes", "prefix", "expiresAt", "revokedAt" FROM "ApiKey" WHERE "hash" = $1`;
const CONNECTION_COLUMNS = `c."id", c."providerId", c."status", c."expiresAt", c."scopes", c."externalTenantId", c."lastErrorCode", c."leaseUntil", t."accessTokenEnc", t."tokenType", t."version"`;
const CONNECTION_SQL = `SELECT ${CONNECTION_COLUMNS} FROM "Connection" c LEFT JOIN "TokenSet" t ON t."connectionId" = c."id" WHERE c."id" = $1 AND c."organizationId" = $2`;
// The organization scoping is in the join: another organization's connection reads as none.
const KEY_WITH_CONNECTION_SQL = `SELECT k."id" AS "keyId", k."organizationId" AS "keyOrganizationId", k."scopes" AS "keyScopes", k."prefix" AS "keyPrefix", k."expiresAt" AS "keyExpiresAt", k."revokedAt" AS "keyRevokedAt", ${CONNECTION_COLUMNS}
  FROM (SELECT * FROM "ApiKey" WHERE "hash" = $1) k LEFT JOIN "Connection" c ON c."id" = $2 AND c."organizationId" = k."organizationId" LEFT JOIN "TokenSet" t ON t."connectionId" = c."id"`;
const AUDIT_COLUMN_LIST = AUDIT_COLUMNS.map((c) => `"${c}"`).join(", ");

// ---- the scheduler's batched refresh commit (lib/tokens/refresh-batch.ts builds the JSON rows) ----
// Per row: the token set is written only if it still has the version the refresh read, the
// connection's state only together with it, and every row's lease is released by the same write.

const KEYS = ["id", "org", "rv", "own", "ate", "rte", "ite", "tt", "exp", "rtexp", "stamp", "nxt", "scp", "clr"];
const SQLITE_V = `(SELECT ${KEYS.map((k) => `value ->> '${k}' AS ${k}`).join(", ")} FROM json_each(?)) AS v`;
const CONNECTION_SET = (self: string) => `"status" = 'active', "expiresAt" = v.exp, "refreshTokenExpiresAt" = v.rtexp,
  "lastRefreshedAt" = v.stamp, "nextRefreshAt" = v.nxt, "refreshAttempts" = 0, "lastErrorCode" = NULL, "lastErrorMessage" = NULL,
  "lastErrorAt" = NULL, "refreshTokenWarnedAt" = CASE WHEN v.clr THEN NULL ELSE ${self}"refreshTokenWarnedAt" END,
  "scopes" = COALESCE(v.scp, ${self}"scopes"), "updatedAt" = v.stamp,
  "leaseOwner" = CASE WHEN ${self}"leaseOwner" = v.own THEN NULL ELSE ${self}"leaseOwner" END,
  "leaseUntil" = CASE WHEN ${self}"leaseOwner" = v.own THEN NULL ELSE ${self}"leaseUntil" END`;
const TOKEN_SET = (
  self: string,
) => `"accessTokenEnc" = v.ate, "refreshTokenEnc" = COALESCE(v.rte, ${self}"refreshTokenEnc"),
  "idTokenEnc" = COALESCE(v.ite, ${self}"idTokenEnc"), "tokenType" = v.tt, "version" = ${self}"version" + 1, "updatedAt" = v.stamp`;

// Both writes test the same pre-state (the version read), in one transaction: both or neither. The
// third releases the leases of superseded rows (written rows' leases went with their write).
const SQLITE_COMMIT_CONNECTIONS = `UPDATE "Connection" SET ${CONNECTION_SET("")} FROM ${SQLITE_V}
WHERE "Connection"."id" = v.id AND "Connection"."organizationId" = v.org
  AND EXISTS (SELECT 1 FROM "TokenSet" t WHERE t."connectionId" = v.id AND t."version" = v.rv)`;
const SQLITE_COMMIT_TOKENS = `UPDATE "TokenSet" SET ${TOKEN_SET("")} FROM ${SQLITE_V}
WHERE "TokenSet"."connectionId" = v.id AND "TokenSet"."organizationId" = v.org AND "TokenSet"."version" = v.rv
RETURNING "connectionId"`;
const SQLITE_RELEASE = `UPDATE "Connection" SET "leaseOwner" = NULL, "leaseUntil" = NULL FROM ${SQLITE_V}
WHERE "Connection"."id" = v.id AND "Connection"."leaseOwner" = v.own`;

const PG_COMMIT = `WITH v AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, org text, rv int, own text, ate text, rte text, ite text, tt text,
    exp timestamp(3), rtexp timestamp(3), stamp timestamp(3), nxt timestamp(3), scp text, clr boolean)
), t AS (
  UPDATE "TokenSet" ts SET ${TOKEN_SET("ts.")} FROM v
  WHERE ts."connectionId" = v.id AND ts."organizationId" = v.org AND ts."version" = v.rv
  RETURNING ts."connectionId"
), c AS (
  UPDATE "Connection" cc SET ${CONNECTION_SET("cc.")} FROM v
  WHERE cc."id" = v.id AND cc."id" IN (SELECT "connectionId" FROM t)
  RETURNING cc."id"
), released AS (
  -- a row is updated once per statement: a written row's lease goes with its write (above), a superseded one's here
  UPDATE "Connection" cc SET "leaseOwner" = NULL, "leaseUntil" = NULL FROM v
  WHERE cc."id" = v.id AND cc."leaseOwner" = v.own AND cc."id" NOT IN (SELECT "connectionId" FROM t)
  RETURNING cc."id"
)
SELECT "id" FROM c`;

type Row = Record<string, unknown>;

function apiKeyRow(r: Row | undefined, date: (v: unknown) => Date | null): ApiKeyRow | undefined {
  return (
    r && {
      id: r.id as string,
      organizationId: r.organizationId as string,
      scopes: r.scopes as string,
      prefix: r.prefix as string,
      expiresAt: date(r.expiresAt),
      revokedAt: date(r.revokedAt),
    }
  );
}

function connectionRow(r: Row | undefined, date: (v: unknown) => Date | null): ConnectionTokenRow | undefined {
  return (
    r && {
      id: r.id as string,
      providerId: r.providerId as string,
      status: r.status as string,
      expiresAt: date(r.expiresAt),
      scopes: r.scopes as string,
      externalTenantId: (r.externalTenantId as string | null) ?? null,
      lastErrorCode: (r.lastErrorCode as string | null) ?? null,
      leaseUntil: date(r.leaseUntil),
      accessTokenEnc: (r.accessTokenEnc as string | null) ?? null,
      tokenType: (r.tokenType as string | null) ?? null,
      version: r.version === null || r.version === undefined ? null : Number(r.version),
    }
  );
}

function keyWithConnectionRow(r: Row | undefined, date: (v: unknown) => Date | null): ApiKeyWithConnection | undefined {
  if (!r) return undefined;
  const key: ApiKeyRow = {
    id: r.keyId as string,
    organizationId: r.keyOrganizationId as string,
    scopes: r.keyScopes as string,
    prefix: r.keyPrefix as string,
    expiresAt: date(r.keyExpiresAt),
    revokedAt: date(r.keyRevokedAt),
  };
  return { key, connection: r.id === null || r.id === undefined ? undefined : connectionRow(r, date) };
}

// ---- SQLite -------------------------------------------------------------------------------------

/** Prisma stores DateTime on SQLite as ISO text with an explicit offset (older rows: epoch ms). */
const sqliteDate = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string | number));

// The writer thread (audit rows, the scheduler's refresh commits): plain CommonJS (it runs as is under
// tsx, Next's server and Vitest alike).
const WRITER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require("node:module").createRequire(workerData.resolveFrom)("better-sqlite3");
// busy timeout from the start (the open itself may meet a lock); statements are prepared on first use,
// inside the try: preparing reads the schema, and a lock held elsewhere must fail that batch (kept and
// retried by the caller), not kill the thread
const handle = new Database(workerData.file, { fileMustExist: true, timeout: 10000 });
const CREATED_AT = workerData.createdAt;
let audit = null;
let commit = null;
const prepareAudit = () => {
  const insert = handle.prepare(workerData.auditSql);
  // createdAt as Prisma stores DateTime on SQLite: ISO text with an explicit offset
  return handle.transaction((rows) => { for (const r of rows) { r[CREATED_AT] = new Date(r[CREATED_AT]).toISOString().replace("Z", "+00:00"); insert.run(r); } });
};
const prepareCommit = () => {
  const [connections, tokens, release] = workerData.commitSql.map((sql) => handle.prepare(sql));
  // the same pre-state (the version read) is tested by the first two, in one transaction: both or neither
  return handle.transaction((json) => {
    connections.run(json);
    const written = tokens.all(json).map((r) => r.connectionId);
    release.run(json);
    return written;
  });
};
parentPort.on("message", (m) => {
  if (m.close) { handle.close(); parentPort.postMessage({ closed: true }); return; }
  try {
    if (m.kind === "commit") { commit ??= prepareCommit(); parentPort.postMessage({ id: m.id, ids: commit(m.json) }); }
    else { audit ??= prepareAudit(); audit(JSON.parse(m.json)); parentPort.postMessage({ id: m.id }); }
  }
  catch (err) { parentPort.postMessage({ id: m.id, error: String(err && err.message || err), code: err && err.code }); }
});
`;

type Pending = Map<number, { resolve: (ids?: string[]) => void; reject: (e: Error) => void }>;

function sqliteWriter(file: string) {
  let worker: { thread: Worker; pending: Pending } | null = null;
  let seq = 0;
  const start = () => {
    const thread = new Worker(WRITER_SOURCE, {
      eval: true,
      // OR IGNORE: a batch retried after its commit was in fact made (the thread died just then) is not a conflict
      workerData: {
        file,
        resolveFrom: path.join(process.cwd(), "package.json"),
        createdAt: CREATED_AT,
        auditSql: `INSERT OR IGNORE INTO "AuditEvent" (${AUDIT_COLUMN_LIST}) VALUES (${AUDIT_COLUMNS.map(() => "?").join(", ")})`,
        commitSql: [SQLITE_COMMIT_CONNECTIONS, SQLITE_COMMIT_TOKENS, SQLITE_RELEASE],
      },
    });
    thread.unref(); // a pending batch is awaited by whoever flushes; an idle writer never holds the process
    const self = { thread, pending: new Map() as Pending };
    // the batches of this thread only: a thread that dies after a new one has started must not fail the new one's
    const failAll = (e: unknown) => {
      const err =
        e instanceof Error
          ? e
          : Object.assign(new Error(String((e as { message?: unknown })?.message ?? e)), {
              code: (e as { code?: unknown })?.code,
            });
      for (const p of self.pending.values()) p.reject(err);
      self.pending.clear();
      if (worker === self) worker = null;
    };
    thread.on("message", (m: { id?: number; error?: string; code?: string; ids?: string[] }) => {
      if (m.id === undefined) return;
      const p = self.pending.get(m.id);
      self.pending.delete(m.id);
      if (m.error) p?.reject(Object.assign(new Error(m.error), { code: m.code }));
      else p?.resolve(m.ids);
    });
    thread.on("error", failAll);
    thread.on("exit", () => failAll(new Error("the database writer thread exited")));
    return self;
  };
  const post = (kind: "audit" | "commit", json: string) => {
    const w = (worker ??= start());
    const id = ++seq;
    return new Promise<string[] | undefined>((resolve, reject) => {
      w.pending.set(id, { resolve, reject });
      w.thread.postMessage({ id, kind, json });
    });
  };
  return {
    // one flat string: JSON.stringify of a batch costs the event loop less than a structured clone of its rows
    insert: async (rows: AuditInsertRow[]) => void (await post("audit", JSON.stringify(rows))),
    commit: async (json: string) => (await post("commit", json)) ?? [],
    async close() {
      const w = worker?.thread;
      worker = null;
      if (!w) return;
      // batches already posted are committed first (messages are handled in order), then the handle closes
      const closed = new Promise<void>((resolve) =>
        w.on("message", (m: { closed?: boolean }) => m.closed && resolve()),
      );
      w.postMessage({ close: true });
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
      await w.terminate();
    },
  };
}

function sqliteHotQueries(url: string): HotQueries {
  const file = sqliteFilePath(url);
  let reads: {
    apiKey: Database.Statement;
    connection: Database.Statement;
    keyWithConnection: Database.Statement;
    handle: Database.Database;
  } | null = null;
  const open = () => {
    const handle = new Database(file, { readonly: true, fileMustExist: true });
    handle.pragma("busy_timeout = 5000");
    // better-sqlite3 binds `?` in order of appearance: the $n must appear as $1, $2, … for that to hold
    const sqlite = (sql: string) => {
      const order = [...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
      if (order.some((n, i) => n !== i + 1)) throw new Error(`hot query parameters out of order: ${order.join(", ")}`);
      return handle.prepare(sql.replace(/\$\d+/g, "?"));
    };
    return {
      handle,
      apiKey: sqlite(API_KEY_SQL),
      connection: sqlite(CONNECTION_SQL),
      keyWithConnection: sqlite(KEY_WITH_CONNECTION_SQL),
    };
  };
  const writer = sqliteWriter(file);
  return {
    async apiKeyByHash(hash) {
      reads ??= open();
      return apiKeyRow(reads.apiKey.get(hash) as Row | undefined, sqliteDate);
    },
    async connectionWithTokens(connectionId, organizationId) {
      reads ??= open();
      return connectionRow(reads.connection.get(connectionId, organizationId) as Row | undefined, sqliteDate);
    },
    async apiKeyWithConnection(hash, connectionId) {
      reads ??= open();
      return keyWithConnectionRow(reads.keyWithConnection.get(hash, connectionId) as Row | undefined, sqliteDate);
    },
    insertAudit: (rows) => writer.insert(rows),
    commitRefreshes: (json) => writer.commit(json),
    async close() {
      reads?.handle.close();
      reads = null;
      await writer.close();
    },
  };
}

// ---- PostgreSQL ---------------------------------------------------------------------------------

const TIMESTAMP_OID = 1114;
/** Prisma's `timestamp(3)` columns hold UTC without a zone: read them as UTC whatever the server's TZ. */
const pgUtc = (s: string) => new Date(`${s.replace(" ", "T")}Z`);
const pgDate = (v: unknown) => (v === null || v === undefined ? null : (v as Date));
const pgTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID && format !== "binary"
      ? pgUtc
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** All rows of a batch in one statement: one array per column, unnested (a single plan for any size). */
/** ON CONFLICT: a batch retried after its commit was in fact made (the connection died just then) is not a conflict. */
const PG_AUDIT_SQL = `INSERT INTO "AuditEvent" (${AUDIT_COLUMN_LIST}) SELECT * FROM unnest(${AUDIT_COLUMNS.map((c, i) => `$${i + 1}::${c === "createdAt" ? "timestamp(3)" : "text"}[]`).join(", ")}) ON CONFLICT ("id") DO NOTHING`;

function pgHotQueries(url: string): HotQueries {
  // the same size as Prisma's pool (CONSENTRY_DB_POOL_SIZE); an unreachable database fails a query after 10 s
  const pool = new pg.Pool({
    ...pgConnectionFields(url),
    max: env().dbPoolSize,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
    types: pgTypes,
  });
  // An idle client lost (server restart, database dropped) is replaced on the next query.
  pool.on("error", () => undefined);
  const rows = async (name: string, text: string, values: unknown[]) =>
    (await pool.query({ name, text, values })).rows as Row[];
  return {
    async apiKeyByHash(hash) {
      return apiKeyRow((await rows("consentry_api_key_by_hash", API_KEY_SQL, [hash]))[0], pgDate);
    },
    async connectionWithTokens(connectionId, organizationId) {
      return connectionRow(
        (await rows("consentry_connection_with_tokens", CONNECTION_SQL, [connectionId, organizationId]))[0],
        pgDate,
      );
    },
    async apiKeyWithConnection(hash, connectionId) {
      return keyWithConnectionRow(
        (await rows("consentry_api_key_with_connection", KEY_WITH_CONNECTION_SQL, [hash, connectionId]))[0],
        pgDate,
      );
    },
    async insertAudit(batch) {
      if (batch.length === 0) return;
      // UTC wall-clock text: the column has no zone, and pg would otherwise send local time
      const columns = AUDIT_COLUMNS.map((_, i) =>
        batch.map((r) => (i === CREATED_AT ? new Date(r[i] as number).toISOString().slice(0, -1) : r[i])),
      );
      await pool.query({ name: "consentry_insert_audit", text: PG_AUDIT_SQL, values: columns });
    },
    async commitRefreshes(json) {
      return (await rows("consentry_commit_refreshes", PG_COMMIT, [json])).map((r) => r.id as string);
    },
    close: () => pool.end(),
  };
}

// ---- one per Prisma client ----------------------------------------------------------------------

// The state lives on the client under a registered symbol: clients made by $extends forward property
// reads to the one they extend (so they share its statements), and the production server's own
// modules and Next's bundle of lib/ see the same symbol.
const HOT = Symbol.for("consentry.hotQueries");
type HotState = { url: string; instance: HotQueries | null };
type WithHot = { [HOT]?: HotState };

/** Called by createDb: remembers the client's database and closes the hot statements with it. */
export function attachHotQueries(client: { $disconnect: () => Promise<void> }, url: string) {
  const state: HotState = { url, instance: null };
  (client as WithHot)[HOT] = state;
  const disconnect = client.$disconnect.bind(client);
  client.$disconnect = async () => {
    const hot = state.instance;
    state.instance = null;
    await hot?.close().catch(() => undefined);
    await disconnect();
  };
}

/** The database URL a client made by createDb was made for (or that of the client it extends). */
export function databaseUrlOf(client: object): string {
  const state = (client as WithHot)[HOT];
  if (!state) throw new Error("databaseUrlOf: this client was not made by createDb");
  return state.url;
}

/** The hot statements for this Prisma client's database (or the database of the client it extends). */
export function hotQueries(client: object): HotQueries {
  const state = (client as WithHot)[HOT];
  if (!state) throw new Error("hotQueries: this client was not made by createDb");
  return (state.instance ??= state.url.startsWith("file:") ? sqliteHotQueries(state.url) : pgHotQueries(state.url));
}
