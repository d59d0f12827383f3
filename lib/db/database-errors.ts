// Tells a database that cannot be used right now (down, unreachable, restarting, its pool exhausted,
// the SQLite file locked or its disk full) from every other error. Those are nobody's fault and worth
// retrying: the REST API answers them with 503 + Retry-After, and a refresh whose new tokens could not
// be committed keeps them and tries again (lib/tokens/pending-commits.ts).
//
// Errors arrive in several wrappings: Prisma's known errors (P1001 …, or P2010 for raw queries, with
// the driver adapter's error in `meta`), pg's own errors (SQLSTATE codes, socket errno codes, or plain
// messages such as "Connection terminated unexpectedly") and better-sqlite3's (SQLITE_BUSY …).

/** Prisma's codes for "could not talk to the database" (connection, timeout, pool, transaction start). */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1011", "P1017", "P2024", "P2028", "P2034", "P5011"]);
/** Kinds of the driver adapter's errors (@prisma/driver-adapter-utils) that mean the same. */
const ADAPTER_KINDS = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "TransactionWriteConflict",
  "TlsConnectionError",
]);
/** SQLSTATE classes and codes: 08 connection exception, 53 insufficient resources, 57P0x shutdown/cannot connect now, 40001/40P01 retry. */
const PG_STATES = /^(08...|53...|57P0[1-4]|40001|40P01|55P03|58030)$/;
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
]);
/** SQLite result codes (and their extended forms, e.g. SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_FSYNC) that pass or need an operator, not a fix to the request. */
const SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOLFS)/;
const MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Can't reach database server|Unable to start a transaction in the given time|the database system is (starting up|shutting down|in recovery mode)|Client has encountered a connection error|database is locked|Connection refused/i;

type Inspectable = {
  code?: unknown;
  message?: unknown;
  meta?: unknown;
  cause?: unknown;
  originalCode?: unknown;
  kind?: unknown;
};

export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = err;
  // walk the cause chain (and Prisma's meta.driverAdapterError.cause), a few levels at most
  for (let depth = 0; e && typeof e === "object" && depth < 6 && !seen.has(e); depth++) {
    seen.add(e);
    const x = e as Inspectable;
    const code = typeof x.code === "string" ? x.code : typeof x.originalCode === "string" ? x.originalCode : "";
    if (PRISMA_CODES.has(code) || SOCKET_CODES.has(code) || PG_STATES.test(code) || SQLITE_CODES.test(code))
      return true;
    if (typeof x.kind === "string" && ADAPTER_KINDS.has(x.kind)) return true;
    if (typeof x.message === "string" && MESSAGES.test(x.message)) return true;
    const adapter = (x.meta as { driverAdapterError?: { cause?: unknown } } | undefined)?.driverAdapterError;
    e = adapter?.cause ?? x.cause;
  }
  return false;
}

/**
 * Runs `fn` again while the database is unavailable, with backoff, for at most `forMs`: for writes a
 * person is waiting on (a consent's result), where a blink of the database should cost a second, not
 * the consent. Any other error, or one past the deadline, is thrown.
 */
export async function retryWhileUnavailable<T>(
  fn: () => Promise<T>,
  { forMs = 20_000 }: { forMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
