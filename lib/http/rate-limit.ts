// A fixed-window counter per key, in this process. Enough to cap state-table growth from one
// address on consent start; limits shared across instances belong in the database or a proxy.
type Window = { start: number; count: number };
const windows = new Map<string, Window>();

export function takeToken(
  key: string,
  { limit, windowMs }: { limit: number; windowMs: number },
  now = Date.now(),
): { ok: boolean; retryAfterSeconds: number } {
  const w = windows.get(key);
  if (!w || now - w.start >= windowMs) {
    windows.set(key, { start: now, count: 1 });
    if (windows.size > 50_000) for (const [k, v] of windows) if (now - v.start >= windowMs) windows.delete(k);
    return { ok: true, retryAfterSeconds: 0 };
  }
  w.count++;
  return w.count <= limit
    ? { ok: true, retryAfterSeconds: 0 }
    : { ok: false, retryAfterSeconds: Math.ceil((w.start + windowMs - now) / 1000) };
}
