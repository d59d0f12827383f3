// A refresh worker in its own OS process, for the cross-process tests (tests/integration/refresh-*.test.ts).
//
//   node_modules/.bin/tsx tests/workers/refresh-worker.ts ['<json args>']
//
// Configuration comes from the environment like the real app: DATABASE_URL, CONSENTRY_ENCRYPTION_KEYS,
// CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS=true, CONSENTRY_PROVIDER_HOSTS. Protocol, one JSON object a line
// on stdout: {"event":"booted"} once the code is loaded; without args on the command line the worker
// then reads them from stdin, one JSON line per command (so it can be started before the test knows
// the connection, and reused); {"event":"ready"} once it has them and the database is reachable; then
// it waits for a line "go" (so several workers start at the same moment) and prints
// {"event":"result",...}, and waits for the next command.
//
// Modes (args.mode):
//   fresh            `count` concurrent getFreshToken({minValidity}) calls
//   mixed            half getFreshToken, half refreshConnection as the scheduler would call it (onlyIfDue)
//   refresh          one refreshConnection (reason "on_demand"); prints {"event":"started"} before it
//   claim-and-sleep  claims the lease (ttlMs) like a refresh would, prints {"event":"claimed"}, then sleeps forever
//   refresh-due      one refreshDue()
import { createDb } from "@/lib/db/client";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { PROCESS_ID, refreshConnection } from "@/lib/tokens/refresh-connection";
import { claimLease } from "@/lib/tokens/lease";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { AppError } from "@/lib/errors";

type Args = {
  mode: string;
  organizationId: string;
  connectionId: string;
  count?: number;
  minValidity?: number;
  ttlMs?: number;
};

const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

const lines: string[] = [];
const lineWaiters: Array<(l: string) => void> = [];
let stdinBuf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d: string) => {
  stdinBuf += d;
  let i;
  while ((i = stdinBuf.indexOf("\n")) >= 0) {
    const line = stdinBuf.slice(0, i).trim();
    stdinBuf = stdinBuf.slice(i + 1);
    const w = lineWaiters.shift();
    if (w) w(line);
    else lines.push(line);
  }
});
// the test process went away: so does the worker
process.stdin.on("end", () => process.exit(0));
const nextLine = () =>
  new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : lineWaiters.push(resolve)));

async function main() {
  out({ event: "booted", pid: process.pid });
  const db = createDb(process.env.DATABASE_URL!);
  await db.connection.count(); // connect before "ready", so start-up time is not part of a race
  const once = process.argv[2];
  // One command per arguments line (or the command-line arguments, once); the process is reused.
  for (;;) {
    const args = JSON.parse(once ?? (await nextLine())) as Args;
    out({ event: "ready", pid: process.pid, owner: PROCESS_ID });
    while ((await nextLine()) !== "go");
    out({ event: "result", ...(await run(db, args)) });
    if (once) break;
  }
  await db.$disconnect();
  process.exit(0);
}

async function run(db: ReturnType<typeof createDb>, args: Args): Promise<Record<string, unknown>> {
  const { organizationId, connectionId } = args;
  const count = args.count ?? 10;
  const started = Date.now();

  const fresh = async () => {
    try {
      const t = await getFreshToken({ db, organizationId, connectionId, minValidity: args.minValidity ?? 1e9 });
      return { kind: "fresh", ok: true, accessToken: t.accessToken, expiresAt: t.expiresAt.toISOString() };
    } catch (e) {
      return { kind: "fresh", ok: false, error: e instanceof AppError ? e.code : (e as Error).message };
    }
  };
  const scheduled = async () => {
    const outcome = await refreshConnection({ db, connectionId, reason: "scheduled", onlyIfDue: true });
    return { kind: "scheduled", ok: true, outcome: outcome.result } as Record<string, unknown>;
  };

  switch (args.mode) {
    case "fresh": {
      const results = await Promise.all(Array.from({ length: count }, fresh));
      return { results, ms: Date.now() - started };
    }
    case "mixed": {
      const results: Array<Record<string, unknown>> = await Promise.all(
        Array.from({ length: count }, (_, i) => (i % 2 === 0 ? fresh() : scheduled())),
      );
      // A scheduler that found the lease taken moves on; by now the on-demand callers of this process
      // have seen the refreshed token, so read what the scheduler's API clients would get.
      const t = await getFreshToken({ db, organizationId, connectionId, minValidity: 1 });
      for (const r of results)
        if (r.kind === "scheduled")
          Object.assign(r, { accessToken: t.accessToken, expiresAt: t.expiresAt.toISOString() });
      return { results, ms: Date.now() - started };
    }
    case "refresh": {
      out({ event: "started" });
      const outcome = await refreshConnection({ db, connectionId, reason: "on_demand" });
      return { outcome, ms: Date.now() - started };
    }
    case "claim-and-sleep": {
      const ok = await claimLease({ db, connectionId, owner: PROCESS_ID, ttlMs: args.ttlMs ?? 60_000 });
      out({ event: "claimed", ok });
      return new Promise(() => setInterval(() => {}, 60_000)); // until SIGKILL
    }
    case "refresh-due": {
      const summary = await refreshDue({ db });
      return { summary, ms: Date.now() - started };
    }
    default:
      throw new Error(`unknown mode ${args.mode}`);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
