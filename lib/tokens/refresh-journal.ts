// A local, fsynced journal of refreshes whose answer has arrived but whose commit has not been
// confirmed yet, replayed at the next start. It closes most of the crash window of a rotating
// provider: once the provider has rotated the refresh token, the new one exists only in this
// process until the database has it; a crash (SIGKILL, OOM, power) then used to cost the connection.
// With the journal, only a crash between the provider's answer arriving and its fsync (well under a
// millisecond) or before the answer arrives at all can still cost it.
//
// Hand-written: an append-only file with group commit (one fdatasync for every entry queued
// meanwhile) is all this needs. Entries are RefreshCommit objects, whose tokens are already sealed
// with AES-256-GCM to their TokenSet row: the file holds no plaintext secret. One file per process
// (`<PROCESS_ID>.jsonl`) in a folder per database; a completed refresh appends a `done` line
// (not fsynced: replaying a committed entry is harmless, its version check fails), and the file is
// truncated whenever nothing in it is outstanding.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";
import type { Db } from "@/lib/db/client";
import { databaseUrlOf } from "@/lib/db/hot-queries";
import { commitRefresh, type RefreshCommit } from "@/lib/tokens/commit-refresh";
import { PROCESS_ID } from "@/lib/tokens/process-id";

type Line = { t: "c"; seq: number; commit: RefreshCommit } | { t: "d"; seq: number };
type Queued = { data: string; sync: boolean; resolve: () => void; reject: (e: Error) => void };

/** truncate the file once nothing in it is outstanding and it has grown past this */
const COMPACT_BYTES = 1 << 20;

export class RefreshJournal {
  private fh: fs.promises.FileHandle | null = null;
  private queue: Queued[] = [];
  private flushing: Promise<void> | null = null;
  private seq = 0;
  private readonly live = new Set<number>();
  private size = 0;

  constructor(readonly file: string) {}

  /** Resolves once the entry is on disk (fdatasync). */
  async append(commit: RefreshCommit): Promise<number> {
    const seq = ++this.seq;
    this.live.add(seq);
    await this.enqueue(JSON.stringify({ t: "c", seq, commit } satisfies Line) + "\n", true);
    return seq;
  }

  /** The entry's commit is settled (written or superseded): it needs no replay. */
  done(seq: number): void {
    if (!this.live.delete(seq)) return;
    this.enqueue(JSON.stringify({ t: "d", seq } satisfies Line) + "\n", false).catch(() => undefined);
  }

  /** Entries appended and not yet done. */
  get outstanding(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    await this.flushing;
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
    // nothing outstanding: nothing to replay, no file to leave behind
    if (this.live.size === 0) fs.rmSync(this.file, { force: true });
  }

  private enqueue(data: string, sync: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data, sync, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        if (!this.fh) {
          fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
          this.fh = await fs.promises.open(this.file, "a", 0o600);
        }
        const data = batch.map((b) => b.data).join("");
        await this.fh.write(data);
        this.size += Buffer.byteLength(data);
        if (batch.some((b) => b.sync)) await this.fh.datasync();
        if (this.live.size === 0 && this.size > COMPACT_BYTES) {
          await this.fh.truncate(0);
          this.size = 0;
        }
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err as Error);
      }
    }
    this.flushing = null;
  }
}

/** The journal folder of a database: one per database URL, so a journal is only ever replayed where it was written. */
function folderFor(dir: string, databaseUrl: string): string {
  return path.join(dir, crypto.createHash("sha256").update(databaseUrl).digest("hex").slice(0, 16));
}

const g = globalThis as unknown as { __consentryJournals?: Map<string, RefreshJournal | null> };
const journals = (g.__consentryJournals ??= new Map());

/** This process's journal for `db`'s database, or null when the journal is off (CONSENTRY_REFRESH_JOURNAL). */
export function refreshJournal(db: Db): RefreshJournal | null {
  const url = databaseUrlOf(db);
  let j = journals.get(url);
  if (j === undefined) {
    const dir = env().refreshJournalDir;
    j = dir ? new RefreshJournal(path.join(folderFor(dir, url), `${PROCESS_ID}.jsonl`)) : null;
    journals.set(url, j);
  }
  return j;
}

export async function closeRefreshJournals(): Promise<void> {
  await Promise.all([...journals.values()].map((j) => j?.close().catch(() => undefined)));
  journals.clear();
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // an earlier incarnation with our pid (a container's pid 1): not us
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The commits of a journal file that were never marked done; a torn last line (a crash mid-write) is skipped. */
export function outstandingCommits(text: string): RefreshCommit[] {
  const open = new Map<number, RefreshCommit>();
  for (const raw of text.split("\n")) {
    if (!raw) continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      continue;
    }
    if (line.t === "c") open.set(line.seq, line.commit);
    else if (line.t === "d") open.delete(line.seq);
  }
  return [...open.values()];
}

export type ReplaySummary = { files: number; replayed: number; superseded: number };

/**
 * At start, before any refresh runs: commits what processes that are gone (crashed, killed) had
 * received from providers but not committed. Each commit carries the version it was based on, so an
 * entry that was committed after all, or overtaken by a later refresh, changes nothing.
 */
export async function replayRefreshJournals({
  db,
  onReplayed,
}: {
  db: Db;
  onReplayed?: (c: RefreshCommit) => Promise<void>;
}): Promise<ReplaySummary> {
  const dir = env().refreshJournalDir;
  const summary: ReplaySummary = { files: 0, replayed: 0, superseded: 0 };
  if (!dir) return summary;
  const folder = folderFor(dir, databaseUrlOf(db));
  if (!fs.existsSync(folder)) return summary;
  const own = `${PROCESS_ID}.jsonl`;
  for (const name of fs.readdirSync(folder)) {
    const pid = Number(/^(\d+)-[0-9a-f]+\.jsonl$/.exec(name)?.[1]);
    if (name === own || !pid || processAlive(pid)) continue;
    const file = path.join(folder, name);
    summary.files++;
    for (const commit of outstandingCommits(fs.readFileSync(file, "utf8"))) {
      const r = await commitRefresh({ db, commit });
      if (r === "written") {
        summary.replayed++;
        await onReplayed?.(commit);
      } else summary.superseded++;
    }
    fs.rmSync(file, { force: true });
  }
  if (summary.replayed)
    logger.warn({ ...summary }, "refresh journal replayed: tokens a stopped process had received were committed");
  return summary;
}
