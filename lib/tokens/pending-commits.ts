// New tokens are committed or retried, never dropped. Once a provider has answered a refresh, a
// rotating provider has already invalidated the refresh token the database holds: if the commit then
// fails (pool timeout, connection reset, database down, SQLITE_BUSY), letting the new set go loses
// the connection for good — the next refresh presents a spent token and reuse detection revokes the
// grant. So a commit that fails is held here, in memory (and in the refresh journal, on disk), the
// lease on its connection is kept alive, and the commit is retried with backoff until it lands or the
// process stops. Nothing in this process claims a connection with a held commit; other processes
// cannot, because the lease stays theirs to wait for.
import type { Db } from "@/lib/db/client";
import { isDatabaseUnavailable } from "@/lib/db/database-errors";
import { logger } from "@/lib/logger";
import { LEASE_MS } from "@/lib/tokens/lease";
import { commitRefresh, type CommitResult, type RefreshCommit } from "@/lib/tokens/commit-refresh";
import { refreshJournal } from "@/lib/tokens/refresh-journal";

type Held = {
  db: Db;
  commit: RefreshCommit;
  journalSeq: number | null;
  onWritten: () => Promise<void>;
  since: number;
  attempts: number;
  settled: Promise<CommitResult>;
  settle: (r: CommitResult) => void;
};

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;
/** how often a held commit's lease is pushed forward (well inside LEASE_MS) */
const HEARTBEAT_MS = LEASE_MS / 4;

type State = {
  held: Map<string, Held>;
  timer: NodeJS.Timeout | null;
  delay: number;
  heartbeatAt: number;
  running: Promise<void> | null;
};
// on globalThis: Next's bundles of lib/ in one process must share the one set of held commits
const g = globalThis as unknown as { __consentryHeldCommits?: State };
const state = (g.__consentryHeldCommits ??= {
  held: new Map(),
  timer: null,
  delay: FIRST_DELAY_MS,
  heartbeatAt: 0,
  running: null,
});

export type DurableCommitResult = CommitResult | "held";

/**
 * Journals the commit (fsync), then writes it (`write`: alone by default, or in a batch of the
 * scheduler's). `onWritten` (audit, webhooks) runs once it is written, now or on a later retry.
 * "held": the database refused it for now; it is retried alone in the background.
 */
export async function commitDurably({
  db,
  commit,
  onWritten,
  write = (m) => commitRefresh({ db, commit: m }),
}: {
  db: Db;
  commit: RefreshCommit;
  onWritten: () => Promise<void>;
  write?: (commit: RefreshCommit) => Promise<CommitResult>;
}): Promise<DurableCommitResult> {
  const journal = refreshJournal(db);
  let journalSeq: number | null = null;
  if (journal) {
    try {
      journalSeq = await journal.append(commit);
    } catch (err) {
      // the commit goes ahead: the journal only covers a crash before it lands
      logger.error(
        { connectionId: commit.connectionId, err: { message: (err as Error).message } },
        "refresh journal not written: a crash before this commit would lose the new tokens",
      );
    }
  }
  try {
    const r = await write(commit);
    if (journalSeq !== null) journal!.done(journalSeq);
    if (r === "written") await runAfterCommit(onWritten, commit);
    return r;
  } catch (err) {
    hold({ db, commit, journalSeq, onWritten }, err);
    return "held";
  }
}

function hold(h: Omit<Held, "since" | "attempts" | "settled" | "settle">, err: unknown) {
  let settle!: (r: CommitResult) => void;
  const settled = new Promise<CommitResult>((r) => (settle = r));
  state.held.set(h.commit.connectionId, { ...h, since: Date.now(), attempts: 1, settled, settle });
  logger.warn(
    {
      connectionId: h.commit.connectionId,
      held: state.held.size,
      transient: isDatabaseUnavailable(err),
      err: { message: (err as Error).message },
    },
    "refreshed tokens could not be committed: held in memory, retrying",
  );
  schedule(0);
}

async function runAfterCommit(onWritten: () => Promise<void>, commit: RefreshCommit) {
  try {
    await onWritten();
  } catch (err) {
    logger.error(
      { connectionId: commit.connectionId, err: { message: (err as Error).message } },
      "after-commit work failed (the tokens are committed)",
    );
  }
}

function schedule(delay: number) {
  if (state.timer || state.running) return;
  state.timer = setTimeout(() => {
    state.timer = null;
    state.running = retryHeld().finally(() => {
      state.running = null;
      if (state.held.size > 0) schedule(state.delay);
    });
  }, delay);
  state.timer.unref();
}

function settle(h: Held, r: CommitResult) {
  state.held.delete(h.commit.connectionId);
  if (h.journalSeq !== null) refreshJournal(h.db)?.done(h.journalSeq);
  h.settle(r);
  logger.info(
    { connectionId: h.commit.connectionId, result: r, attempts: h.attempts, heldMs: Date.now() - h.since },
    "held refresh committed",
  );
}

async function retryHeld(): Promise<void> {
  for (const h of [...state.held.values()]) {
    try {
      const r = await commitRefresh({ db: h.db, commit: h.commit });
      settle(h, r);
      if (r === "written") await runAfterCommit(h.onWritten, h.commit);
    } catch (err) {
      h.attempts++;
      // the database is still away: the others would fail the same way; try them all again later
      if (isDatabaseUnavailable(err)) break;
      logger.error(
        { connectionId: h.commit.connectionId, attempts: h.attempts, err: { message: (err as Error).message } },
        "held refresh commit failed",
      );
    }
  }
  state.delay = state.held.size === 0 ? FIRST_DELAY_MS : Math.min(state.delay * 2, MAX_DELAY_MS);
  if (state.held.size > 0 && Date.now() - state.heartbeatAt >= HEARTBEAT_MS) await extendLeases();
}

/** Keeps the leases of held commits from running out (best effort: the database may be the thing that is away). */
async function extendLeases() {
  state.heartbeatAt = Date.now();
  const until = new Date(Date.now() + LEASE_MS);
  for (const h of state.held.values()) {
    await h.db.connection
      .updateMany({ where: { id: h.commit.connectionId, leaseOwner: h.commit.owner }, data: { leaseUntil: until } })
      .catch(() => undefined);
  }
}

/** The refresh held for a connection, if any: its tokens are fresh and may be served from here meanwhile. */
export function heldCommit(connectionId: string): RefreshCommit | undefined {
  return state.held.get(connectionId)?.commit;
}

/** Retries every held commit until none is left or the deadline passes; returns how many are left. */
export async function drainHeldCommits(deadline: number): Promise<number> {
  state.delay = FIRST_DELAY_MS;
  while (state.held.size > 0 && Date.now() < deadline) {
    if (state.timer) {
      clearTimeout(state.timer);
      state.timer = null;
    }
    if (state.running) await state.running;
    else {
      state.running = retryHeld();
      await state.running.finally(() => (state.running = null));
    }
    if (state.held.size > 0) await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))));
  }
  return state.held.size;
}

/** Resolves when the held commit of a connection settles (tests; callers that want to wait for it). */
export function whenCommitted(connectionId: string): Promise<CommitResult> | undefined {
  return state.held.get(connectionId)?.settled;
}
