// Hand-written UUIDv7 (timeOrderedId) because it was measured to pay: the uuid package's v7 costs 7.4 µs an id
// here (one getRandomValues call each) against 0.3 µs, 5–7% of the token endpoint's event-loop time.
//
// API calls are audited in batches: one insert per flush instead of one per request, so auditing
// every call costs the hot token endpoint almost nothing. Flushed every 250 ms, at 500 rows and on exit.
//
// A batch the database refuses (down, locked, its pool exhausted) is kept and retried with backoff,
// not dropped. Memory is bounded: past MAX_BUFFERED_ROWS per database the oldest rows go to a spill
// file on the embedded default (written back once the database takes rows again) or, without one,
// are dropped — counted, and logged once a minute, never silently.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { env } from "@/lib/env";
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import { databaseUrlOf, hotQueries, type AuditInsertRow, type AuditValues } from "@/lib/db/hot-queries";

/**
 * A UUIDv7 (RFC 9562): the creation time in milliseconds, then 74 bits that keep ids of the same
 * millisecond distinct and in creation order. Ids in time order make each insert an append at the
 * end of the primary-key index instead of a write at a random page (measured on SQLite: 6 µs a row
 * instead of 16–22 µs with random UUIDs). The 74 bits are RFC 9562's "fixed-length dedicated
 * counter" method: 42 bits drawn at random once per process, then a 32-bit counter from a random
 * start — no random draw per id (every API call is audited), still unique across processes.
 */
const r = randomBytes(6).toString("hex");
/** rand_a (12 bits), the variant (binary 10) with 14 bits, the first 16 of the last group's 48 bits */
const RANDOM_PART = `${r.slice(0, 3)}-${(0x8 | (parseInt(r[3]!, 16) & 0x3)).toString(16)}${r.slice(4, 7)}-${r.slice(7, 11)}`;
let counter = randomBytes(4).readUInt32BE(0);
let lastMs = -1;
let lastTs = "";

export function timeOrderedId(at: Date | number) {
  const ms = typeof at === "number" ? at : at.getTime();
  if (ms !== lastMs) {
    const hex = ms.toString(16).padStart(12, "0");
    lastTs = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${RANDOM_PART}`;
    lastMs = ms;
  }
  counter = (counter + 1) >>> 0;
  return lastTs + counter.toString(16).padStart(8, "0");
}

/** Rows kept in memory per database while it refuses them; older ones spill to disk or are dropped. */
export const MAX_BUFFERED_ROWS = 50_000;
const FLUSH_EVERY_MS = 250;
const FLUSH_AT_ROWS = 500;
const MAX_RETRY_DELAY_MS = 10_000;
const DROP_LOG_EVERY_MS = 60_000;
/** rows written back from a spill file per insert */
const SPILL_BATCH = 500;

type AuditBuffer = {
  rows: Map<Db, AuditInsertRow[]>;
  count: number;
  timer: NodeJS.Timeout | null;
  /** the next flush's delay: FLUSH_EVERY_MS, longer while the database refuses rows */
  delay: number;
  dropped: number;
  droppedUnlogged: number;
  droppedLoggedAt: number;
  failuresUnlogged: number;
  failureLoggedAt: number;
  flushing: Promise<void> | null;
  /** rows of the flush under way */
  inFlight: number;
};
// on globalThis: the production server's fast path and Next's bundle of lib/ share one buffer
const g = globalThis as unknown as { __consentryAuditBuffer?: AuditBuffer };
const buf = (g.__consentryAuditBuffer ??= {
  rows: new Map(),
  count: 0,
  timer: null,
  delay: FLUSH_EVERY_MS,
  dropped: 0,
  droppedUnlogged: 0,
  droppedLoggedAt: 0,
  failuresUnlogged: 0,
  failureLoggedAt: 0,
  flushing: null,
  inFlight: 0,
});

/** Audit rows dropped by this process since it started (no room in memory and no spill file, or the spill failed). */
export function auditRowsDropped(): number {
  return buf.dropped;
}

/** Rows waiting in memory for their database (a flush under way included). */
export function auditRowsBuffered(): number {
  return queuedRows() + buf.inFlight;
}

function queuedRows(): number {
  let n = 0;
  for (const rows of buf.rows.values()) n += rows.length;
  return n;
}

/** The spill file of a SQLite database (the embedded default: the data folder is local), one per database; null on PostgreSQL. */
function spillFile(db: Db): string | null {
  const url = databaseUrlOf(db);
  if (!url.startsWith("file:")) return null;
  const key = createHash("sha256").update(url).digest("hex").slice(0, 16);
  return path.join(env().dataDir, "audit-spill", `${key}.jsonl`);
}

function drop(n: number) {
  buf.dropped += n;
  buf.droppedUnlogged += n;
  if (Date.now() - buf.droppedLoggedAt >= DROP_LOG_EVERY_MS) {
    logger.error(
      { dropped: buf.droppedUnlogged, droppedSinceStart: buf.dropped },
      "audit rows dropped: the database refused them and no room was left to keep them",
    );
    buf.droppedUnlogged = 0;
    buf.droppedLoggedAt = Date.now();
  }
}

/** Moves rows out of memory: to the spill file where there is one, else they are dropped (counted). */
function spill(db: Db, rows: AuditInsertRow[]) {
  const file = spillFile(db);
  if (!file) return drop(rows.length);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.appendFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n", { mode: 0o600 });
  } catch (err) {
    logger.error({ err: { message: (err as Error).message }, rows: rows.length }, "audit spill file not written");
    drop(rows.length);
  }
}

/** Puts a refused batch back (ahead of newer rows), within the memory bound. */
function keep(db: Db, rows: AuditInsertRow[]) {
  const queued = buf.rows.get(db) ?? [];
  const all = rows.concat(queued);
  const over = all.length - MAX_BUFFERED_ROWS;
  if (over > 0) spill(db, all.splice(0, over));
  buf.rows.set(db, all);
  buf.count = queuedRows();
}

function schedule(delay: number) {
  if (buf.timer) return;
  buf.timer = setTimeout(() => void flushAuditBuffer(), delay);
  buf.timer.unref();
}

/** Writes a spill file's rows back once the database takes rows again; rows not written go back to the file. */
async function unspill(db: Db) {
  const file = spillFile(db);
  if (!file || !fs.existsSync(file)) return;
  const replaying = `${file}.${process.pid}.replaying`;
  fs.renameSync(file, replaying);
  const lines = readline.createInterface({ input: fs.createReadStream(replaying, "utf8"), crlfDelay: Infinity });
  let batch: AuditInsertRow[] = [];
  let failed = false;
  const write = async () => {
    if (batch.length === 0) return;
    if (failed) return void spill(db, batch.splice(0));
    try {
      await hotQueries(db).insertAudit(batch);
    } catch {
      failed = true;
      spill(db, batch);
    }
    batch = [];
  };
  for await (const line of lines) {
    if (!line) continue;
    try {
      batch.push(JSON.parse(line) as AuditInsertRow);
    } catch {
      continue; // a line torn by a crash while it was appended
    }
    if (batch.length >= SPILL_BATCH) await write();
  }
  await write();
  fs.rmSync(replaying, { force: true });
}

/**
 * Writes every buffered row, each to the database it was recorded against, with one prepared
 * statement per batch (lib/db/hot-queries.ts; not createMany, which with the JS query engine costs
 * ~0.4 ms of CPU a row — as much as the request being audited). Resolves once committed, or once a
 * refused batch is back in the buffer for the next try. `final` (shutdown): what is still refused
 * goes to the spill file (or is counted as dropped), because memory is about to go.
 */
export async function flushAuditBuffer({ final = false }: { final?: boolean } = {}): Promise<void> {
  // one flush at a time: a database that takes long to refuse a batch must not collect a pile of them
  while (buf.flushing) await buf.flushing;
  buf.flushing = flushOnce(final).finally(() => (buf.flushing = null));
  return buf.flushing;
}

async function flushOnce(final: boolean) {
  if (buf.timer) clearTimeout(buf.timer);
  buf.timer = null;
  const batches = [...buf.rows];
  buf.rows.clear();
  buf.count = 0;
  buf.inFlight = batches.reduce((n, [, rows]) => n + rows.length, 0);
  let refused = false;
  await Promise.all(
    batches.map(async ([db, rows]) => {
      try {
        await hotQueries(db).insertAudit(rows);
      } catch (err) {
        refused = true;
        if (final) spill(db, rows);
        else keep(db, rows);
        buf.failuresUnlogged++;
        if (Date.now() - buf.failureLoggedAt >= DROP_LOG_EVERY_MS) {
          logger.error(
            { err: { message: (err as Error).message }, kept: rows.length, failures: buf.failuresUnlogged },
            "audit batch not recorded yet: kept and retried",
          );
          buf.failuresUnlogged = 0;
          buf.failureLoggedAt = Date.now();
        }
        return;
      }
      // the database takes rows again: what was spilled goes back too (its own failures are its own)
      await unspill(db).catch((err: Error) =>
        logger.error({ err: { message: err.message } }, "audit spill file not written back yet"),
      );
    }),
  );
  buf.inFlight = 0;
  buf.delay = refused ? Math.min(Math.max(buf.delay * 2, 1000), MAX_RETRY_DELAY_MS) : FLUSH_EVERY_MS;
  if (buf.count > 0 && !final) schedule(buf.delay);
}

/** Buffers one row whose values are already scrubbed (the REST API's call record: lib/api/handle-api-request). */
export function bufferAuditValues(db: Db, values: AuditValues) {
  const createdAt = Date.now();
  const row: AuditInsertRow = [timeOrderedId(createdAt), ...values, createdAt];
  let rows = buf.rows.get(db);
  if (!rows) buf.rows.set(db, (rows = []));
  rows.push(row);
  if (rows.length > MAX_BUFFERED_ROWS) spill(db, rows.splice(0, rows.length - MAX_BUFFERED_ROWS));
  // while a flush is under way or the database refuses rows, no early flush: the timer decides
  if (++buf.count >= FLUSH_AT_ROWS && buf.delay === FLUSH_EVERY_MS && !buf.flushing) void flushAuditBuffer();
  else schedule(buf.delay);
}
