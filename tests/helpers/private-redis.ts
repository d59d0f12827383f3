// Redis for the tests: the machine's own on 127.0.0.1:6379 (shared by parallel runs, so every run
// works under a key prefix of its own and removes it afterwards), and a throwaway redis-server of a
// test's own, for outages (never stop the shared one).
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import { Redis } from "ioredis";
import { freePort } from "../bench/api-server";

export const SHARED_REDIS_URL = "redis://127.0.0.1:6379";

/** A key prefix no other run uses. */
export const uniquePrefix = (label: string) => `consentry-test:${label}:${crypto.randomBytes(5).toString("hex")}:`;

/** Removes every key under `prefix` on `url`; returns how many there were. */
export async function removeKeys(url: string, prefix: string): Promise<number> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    let n = 0;
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      if (keys.length) n += await r.del(...keys);
    } while (cursor !== "0");
    return n;
  } finally {
    r.disconnect();
  }
}

export type PrivateRedis = { url: string; port: number; kill(): Promise<void> };

/** A redis-server of its own on a free port, in memory only; kill() ends it (SIGKILL: an outage, not a shutdown). */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (i > 100 || child.exitCode !== null) throw new Error(`redis-server on ${port} did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      probe.disconnect();
    }
  }
  return {
    url,
    port,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
