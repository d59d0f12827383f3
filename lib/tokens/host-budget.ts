// Per-host concurrency for scheduled refreshes, shared by every run in this process: a token
// endpoint that hangs holds at most its own budget of slots, never every slot, so connections at
// other hosts keep being refreshed on time.
const g = globalThis as unknown as { __consentryHostBudget?: Map<string, number> };
const active = (g.__consentryHostBudget ??= new Map());

/** Takes one slot of `host` if fewer than `limit` are taken. */
export function tryAcquireHost(host: string, limit: number): boolean {
  const n = active.get(host) ?? 0;
  if (n >= limit) return false;
  active.set(host, n + 1);
  return true;
}

export function releaseHost(host: string): void {
  const n = (active.get(host) ?? 1) - 1;
  if (n <= 0) active.delete(host);
  else active.set(host, n);
}
