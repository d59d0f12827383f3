// Shutdown for refresh work (SIGTERM): stop claiming new work, let the refreshes in flight finish,
// commit what they received (retrying held commits), release their leases. Nothing a provider has
// already answered is dropped; what cannot be committed before the deadline stays in the journal.
import { logger } from "@/lib/logger";
import { drainHeldCommits } from "@/lib/tokens/pending-commits";

type State = { stopping: boolean; inFlight: Set<Promise<unknown>> };
const g = globalThis as unknown as { __consentryRefreshWork?: State };
const state = (g.__consentryRefreshWork ??= { stopping: false, inFlight: new Set() });

/** True once shutdown has begun: the scheduler claims nothing more. */
export function refreshShuttingDown(): boolean {
  return state.stopping;
}

/** Counts a refresh as in flight until it settles. */
export function trackRefresh<T>(work: Promise<T>): Promise<T> {
  state.inFlight.add(work);
  void work.finally(() => state.inFlight.delete(work)).catch(() => undefined);
  return work;
}

export type DrainSummary = { inFlightLeft: number; heldLeft: number; ms: number };

/**
 * Stops refresh work and waits, until `deadline` (epoch ms), for refreshes in flight (each bounded by
 * its token request's deadline) and then for held commits to land.
 */
export async function drainRefreshWork(deadline: number): Promise<DrainSummary> {
  const started = Date.now();
  state.stopping = true;
  while (state.inFlight.size > 0 && Date.now() < deadline) {
    await Promise.race([
      Promise.allSettled([...state.inFlight]),
      new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
    ]);
  }
  const heldLeft = await drainHeldCommits(deadline);
  const summary = { inFlightLeft: state.inFlight.size, heldLeft, ms: Date.now() - started };
  if (summary.inFlightLeft || summary.heldLeft)
    logger.error(
      summary,
      "shutdown deadline reached with refresh work left (held commits stay in the refresh journal when it is on)",
    );
  else logger.info(summary, "refresh work drained");
  return summary;
}
