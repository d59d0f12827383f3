// A data folder that cannot be written is reported at start in plain words (issue 13, item 6):
// `npm run cli -- setup` and the production server's start (lib/server/main.ts: the same bootstrap,
// before it listens) exit 1 with a message naming the folder, the cause and the way out, instead of
// "prisma migrate deploy failed … External error id#0". For real: the data folder is a tmpfs mounted
// read-only, too small or full, in a private mount namespace (`unshare -m`, as root), or a folder of
// another user. Where the machine refuses the mounts themselves, a test prints why and skips; once
// they are allowed, every assertion holds.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { childEnv, freePort, ROOT } from "../bench/api-server";
import { TMP_ROOT } from "../helpers/paths";

const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const TIMEOUT = 180_000;
const KEEPS = "Consentry keeps its database, keys and journal there.";
const ELSEWHERE = "set CONSENTRY_DATA_DIR to a writable folder";

type Run = { status: number; stderr: string; stdout: string };

let scratch: string;
let port: number;
/** why this machine cannot run the mount tests (null: it can) */
let mountRefusal: string | null = null;

beforeAll(async () => {
  fs.mkdirSync(TMP_ROOT, { recursive: true });
  scratch = fs.mkdtempSync(path.join(TMP_ROOT, "disk-"));
  // another user must be able to reach the folders made in it (the EACCES test)
  fs.chmodSync(scratch, 0o755);
  port = await freePort();
  // every kind of mount the tests use, once: a refusal here is the machine's privilege, and only then do they skip
  const mnt = path.join(scratch, "probe");
  fs.mkdirSync(mnt);
  const probe = [
    'mount -t tmpfs -o size=64k tmpfs "$0"',
    'touch "$0/f"',
    'mount --bind "$0/f" "$0/f"',
    'mount -o remount,bind,ro "$0/f"',
    'umount "$0/f"',
    'mount -o remount,ro "$0"',
    'umount "$0"',
  ].join(" && ");
  const r = spawnSync("unshare", ["-m", "sh", "-c", probe, mnt], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? `exit ${r.status}: ${r.stderr.trim()}`;
    mountRefusal = `mounting a tmpfs in a private mount namespace was refused (${why}); these tests need root (CAP_SYS_ADMIN)`;
  }
});

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

function skipBecause(ctx: TestContext, reason: string | null) {
  if (!reason) return;
  process.stderr.write(`SKIPPED "${ctx.task.name}": ${reason}\n`);
  ctx.skip();
}

/**
 * Runs `script` with sh in a private mount namespace, `$MNT` an empty folder to mount on (the data
 * folder is `dataDir` in it) and `$OUT` a folder outside it. The script calls `run NAME command…` for
 * the commands whose exit status and output the test reads, and `failed` when a mount fails: after
 * the probe above succeeded, that fails the test.
 */
function inPrivateMount(
  ctx: TestContext,
  script: string,
  dataDir = "data",
): { runs: Record<string, Run>; mnt: string } {
  skipBecause(ctx, mountRefusal);
  const dir = fs.mkdtempSync(path.join(scratch, "case-"));
  const mnt = path.join(dir, "mnt");
  const out = path.join(dir, "out");
  fs.mkdirSync(mnt);
  fs.mkdirSync(out);
  const prelude = `set -u
run() { name=$1; shift; "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"; echo $? >"$OUT/$name.status"; }
failed() { echo "mount failed: $*" >&2; exit 97; }
`;
  const r = spawnSync("unshare", ["-m", "sh", "-c", prelude + script], {
    cwd: ROOT,
    env: childEnv({ MNT: mnt, OUT: out, TSX, PORT: String(port), CONSENTRY_DATA_DIR: path.join(mnt, dataDir) }),
    encoding: "utf8",
    timeout: TIMEOUT - 10_000,
  });
  expect(r.status, `namespace script: ${r.error?.message ?? ""} ${r.stderr}`).toBe(0);
  const runs: Record<string, Run> = {};
  for (const f of fs.readdirSync(out).filter((n) => n.endsWith(".status"))) {
    const name = f.slice(0, -".status".length);
    const read = (ext: string) => fs.readFileSync(path.join(out, `${name}.${ext}`), "utf8");
    runs[name] = { status: Number(read("status").trim()), stderr: read("stderr"), stdout: read("stdout") };
  }
  return { runs, mnt };
}

/** The last `Error: …` line the CLI printed (its JSON log lines come before it). */
const cliError = (r: Run) =>
  r.stderr
    .split("\n")
    .filter((l) => l.startsWith("Error: "))
    .pop() ?? `(no error line in: ${r.stderr})`;

describe("a data folder that cannot be written, reported at start", { timeout: TIMEOUT }, () => {
  it("an installation whose disk became read-only: setup, migrate and the server's start exit 1 naming the read-only file system", (ctx) => {
    const { runs, mnt } = inPrivateMount(
      ctx,
      `mount -t tmpfs -o size=16m tmpfs "$MNT" || failed tmpfs
run first "$TSX" lib/cli/main.ts setup
mount -o remount,ro "$MNT" || failed remount,ro
run setup "$TSX" lib/cli/main.ts setup
run migrate "$TSX" lib/cli/main.ts migrate
run server timeout 60 "$TSX" lib/server/main.ts
`,
    );
    const message = `The data folder ${mnt}/data is on a read-only file system (EROFS): ${KEEPS} Mount it writable, or ${ELSEWHERE}.`;
    // the same folder was fine while writable: the remount is the only change
    expect(runs.first!.status, runs.first!.stderr).toBe(0);
    for (const name of ["setup", "migrate"]) {
      expect(runs[name]!.status, runs[name]!.stderr).toBe(1);
      expect(cliError(runs[name]!)).toBe(`Error: ${message}`);
    }
    // lib/server/main.ts prints the message alone on stderr and exits 1, before it listens
    expect(runs.server!.status, runs.server!.stderr).toBe(1);
    expect(runs.server!.stderr.split("\n")).toContain(message);
    expect(runs.server!.stderr + runs.server!.stdout).not.toMatch(/listening/);
  });

  it("a read-only disk at the very first start (the data folder cannot even be created)", (ctx) => {
    const script = `mount -t tmpfs -o size=16m,ro tmpfs "$MNT" || failed tmpfs,ro\nrun setup "$TSX" lib/cli/main.ts setup\n`;
    const { runs, mnt } = inPrivateMount(ctx, script, "a/data");
    expect(runs.setup!.status).toBe(1);
    const folder = `${mnt}/a/data`;
    expect(cliError(runs.setup!)).toBe(
      `Error: The data folder ${folder} is on a read-only file system (EROFS): ${KEEPS} Mount it writable, or ${ELSEWHERE}.`,
    );
  });

  it("only the database file is read-only (a read-only bind mount on it): named as the database file", (ctx) => {
    const { runs, mnt } = inPrivateMount(
      ctx,
      `mount -t tmpfs -o size=16m tmpfs "$MNT" || failed tmpfs
run first "$TSX" lib/cli/main.ts setup
mount --bind "$MNT/data/consentry.db" "$MNT/data/consentry.db" || failed bind
mount -o remount,bind,ro "$MNT/data/consentry.db" || failed remount,bind,ro
run setup "$TSX" lib/cli/main.ts setup
`,
    );
    expect(runs.first!.status, runs.first!.stderr).toBe(0);
    expect(runs.setup!.status).toBe(1);
    const file = `${mnt}/data/consentry.db`;
    expect(cliError(runs.setup!)).toBe(
      `Error: The database file ${file} is on a read-only file system (EROFS): ${KEEPS} Mount it writable, or ${ELSEWHERE}.`,
    );
  });

  it("a full disk: ENOSPC, with what to do about it", (ctx) => {
    const { runs, mnt } = inPrivateMount(
      ctx,
      `mount -t tmpfs -o size=64k tmpfs "$MNT" || failed tmpfs
dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null
run setup "$TSX" lib/cli/main.ts setup
`,
    );
    expect(runs.setup!.status).toBe(1);
    expect(cliError(runs.setup!)).toBe(
      `Error: The data folder ${mnt}/data is on a full disk (ENOSPC, 0 KiB free): ${KEEPS} Free some space on that disk, or ${ELSEWHERE} on a disk with room.`,
    );
  });

  it("a disk that fills up during the migrations: the failing prisma migrate deploy is reported as the full disk", (ctx) => {
    // 64 KiB: the probe and the key files fit, the database (~200 KiB) does not
    const { runs, mnt } = inPrivateMount(
      ctx,
      `mount -t tmpfs -o size=64k tmpfs "$MNT" || failed tmpfs\nrun setup "$TSX" lib/cli/main.ts setup\n`,
    );
    expect(runs.setup!.status).toBe(1);
    // it was migrate deploy that failed (the folder passed the check before it) …
    expect(runs.setup!.stderr).toMatch(/database migrations failed: the disk is the cause/);
    expect(runs.setup!.stderr).toMatch(/prisma migrate deploy failed/);
    // … and the message is about the disk
    const error = cliError(runs.setup!);
    expect(error.startsWith(`Error: The data folder ${mnt}/data is on a full disk (ENOSPC, `), error).toBe(true);
    expect(
      error.endsWith(` free): ${KEEPS} Free some space on that disk, or ${ELSEWHERE} on a disk with room.`),
      error,
    ).toBe(true);
  });

  it("a data folder of another user: EACCES, naming the user Consentry runs as", (ctx) => {
    const runuser = spawnSync("runuser", ["-u", "nobody", "--", "true"], { encoding: "utf8" });
    const cannot = process.getuid?.() !== 0 || runuser.status !== 0;
    skipBecause(
      ctx,
      cannot ? `needs root and runuser to run as "nobody" (${runuser.error?.message ?? runuser.stderr.trim()})` : null,
    );
    const dir = fs.mkdtempSync(path.join(scratch, "acc-"));
    fs.chmodSync(dir, 0o755);
    const data = path.join(dir, "data");
    fs.mkdirSync(data, { mode: 0o700 });
    // the whole path must be readable by "nobody" for it to run Consentry at all
    for (let p = dir; p !== path.dirname(p); p = path.dirname(p)) {
      if ((fs.statSync(p).mode & 0o005) !== 0o005) return skipBecause(ctx, `${p} is not readable by other users`);
    }
    const env = Object.entries(childEnv({ HOME: "/tmp", CONSENTRY_DATA_DIR: data })).map(([k, v]) => `${k}=${v}`);
    const args = ["-u", "nobody", "--", "env", "-i", ...env, TSX, "lib/cli/main.ts", "setup"];
    const r = spawnSync("runuser", args, { cwd: ROOT, encoding: "utf8", timeout: TIMEOUT - 10_000 });
    expect(r.status, r.stderr).toBe(1);
    const error = cliError({ status: r.status!, stderr: r.stderr, stdout: r.stdout });
    const escaped = data.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(error).toMatch(
      new RegExp(
        `^Error: The data folder ${escaped} cannot be written by the user Consentry runs as \\(nobody, uid \\d+\\) \\(EACCES\\): `,
      ),
    );
    expect(error).toContain(`${KEEPS} Give that user write access to it, or ${ELSEWHERE}.`);
  });
});
