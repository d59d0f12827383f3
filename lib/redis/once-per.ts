// "At most once per interval across instances" for work that is only worth doing once (e.g. writing an
// API key's last use): the first instance to set the Redis key does it. Without Redis, or while it is
// unreachable, every caller may (the caller's own in-process throttle still applies).
import { redis, redisKey } from "@/lib/redis/client";

/** True when this caller should do the work named by `name` now (no other instance did within `intervalMs`). */
export async function oncePer(name: string, intervalMs: number): Promise<boolean> {
  const client = redis();
  if (!client || client.status !== "ready") return true;
  try {
    return (await client.set(redisKey("once", name), "1", "PX", intervalMs, "NX")) === "OK";
  } catch {
    return true;
  }
}
