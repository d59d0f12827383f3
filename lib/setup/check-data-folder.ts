// A data folder that cannot be written (a read-only mount, another owner, a full disk, a quota) is
// reported at start in words a person can act on, instead of as whatever the first write happens to
// fail with: `prisma migrate deploy` on a read-only disk says only "External error id#0".
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { logger } from "@/lib/logger";
import { sqliteFilePath } from "@/lib/db/urls";

/** A folder the embedded default writes, and how to talk about it. */
export type WritableFolder = {
  dir: string;
  /** "The data folder", "The database folder" */
  name: string;
  /** what Consentry keeps there */
  keeps: string;
  /** the other way out: point the setting elsewhere */
  elsewhere: string;
  /** files in it that must stay writable (the SQLite database and its companions) */
  files: string[];
  /** create the folder when it is missing (the data folder is made on first start) */
  create: boolean;
};

const DISK_CODES = new Set(["EROFS", "EACCES", "EPERM", "ENOSPC", "EDQUOT"]);
/** After a failed migration, less free space than this is taken for a full disk (the migration may have used up the rest). */
const NEARLY_FULL_BYTES = 1024 * 1024;
const PROBE_BYTES = 4096;

/** The folders of the embedded default: the data folder, and the SQLite file's own folder when DATABASE_URL puts it elsewhere. */
export function writableFolders({
  dataDir,
  databaseUrl,
  dbKind,
}: {
  dataDir: string;
  databaseUrl: string;
  dbKind: "sqlite" | "postgresql";
}): WritableFolder[] {
  const dbFile = dbKind === "sqlite" ? sqliteFilePath(databaseUrl) : null;
  const dbFiles = dbFile ? ["", "-wal", "-shm", "-journal"].map((s) => dbFile + s) : [];
  const dbInData = dbFile !== null && path.dirname(dbFile) === dataDir;
  const data: WritableFolder = {
    dir: dataDir,
    name: "The data folder",
    keeps: dbInData ? "its database, keys and journal" : "its keys and journal",
    elsewhere: "set CONSENTRY_DATA_DIR to a writable folder",
    files: dbInData ? dbFiles : [],
    create: true,
  };
  if (!dbFile || dbInData) return [data];
  const elsewhere = "set DATABASE_URL to a file in a writable folder";
  return [
    data,
    {
      dir: path.dirname(dbFile),
      name: "The database folder",
      keeps: "its SQLite database",
      elsewhere,
      files: dbFiles,
      create: false,
    },
  ];
}

/** A disk problem, in plain words. `code` is the system's error code (EROFS, EACCES, EPERM, ENOSPC, EDQUOT). */
export class DataFolderError extends Error {
  constructor(
    readonly code: string,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = "DataFolderError";
  }
}

function freeBytes(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

function whoAmI(): string {
  const uid = process.getuid?.();
  try {
    return `${os.userInfo().username}, uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}

const kib = (n: number) => `${Math.floor(n / 1024)} KiB`;

/** The plain message for `code` at `subject` (the folder, or a file in it). */
function plainMessage(f: WritableFolder, subject: string, code: string): string {
  const why = `Consentry keeps ${f.keeps} there.`;
  switch (code) {
    case "EROFS":
      return `${subject} is on a read-only file system (EROFS): ${why} Mount it writable, or ${f.elsewhere}.`;
    case "EACCES":
    case "EPERM":
      return `${subject} cannot be written by the user Consentry runs as (${whoAmI()}) (${code}): ${why} Give that user write access to it, or ${f.elsewhere}.`;
    case "ENOSPC": {
      const free = freeBytes(f.dir);
      const cause = `ENOSPC${free === null ? "" : `, ${kib(free)} free`}`;
      return `${subject} is on a full disk (${cause}): ${why} Free some space on that disk, or ${f.elsewhere} on a disk with room.`;
    }
    default:
      return `${subject} is over its disk quota (EDQUOT): ${why} Free some space or raise the quota, or ${f.elsewhere}.`;
  }
}

function asDataFolderError(f: WritableFolder, subject: string, err: unknown): DataFolderError | null {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code && DISK_CODES.has(code)
    ? new DataFolderError(code, plainMessage(f, subject, code), { cause: err })
    : null;
}

/** Writes a small file, fsyncs and removes it: what the database, the key files and the journal will need. */
function probe(dir: string) {
  const file = path.join(dir, `.write-probe-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "wx", 0o600);
    fs.writeSync(fd, Buffer.alloc(PROBE_BYTES));
    fs.fsyncSync(fd);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    try {
      fs.rmSync(file, { force: true });
    } catch {
      // the error that matters is the one above; a probe left behind is harmless
    }
  }
}

/** Creates the folder; a recursive mkdir reports a read-only parent as ENOENT, so the first missing folder is made alone to get the real cause. */
function makeFolder(dir: string) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    let first = dir;
    while (!fs.existsSync(path.dirname(first)) && path.dirname(first) !== first) first = path.dirname(first);
    fs.mkdirSync(first, { mode: 0o700 });
    throw err;
  }
}

/**
 * Throws a DataFolderError when the folder (created first if it is the data folder) cannot be
 * written and fsynced, or when one of its database files that exists cannot be opened for writing.
 * Other errors are thrown as they are.
 */
export function checkWritableFolder(f: WritableFolder) {
  let subject = f.name + " " + f.dir;
  try {
    if (f.create) makeFolder(f.dir);
    else if (!fs.existsSync(f.dir)) return;
    probe(f.dir);
    for (const file of f.files) {
      subject = `The database file ${file}`;
      let fd: number;
      try {
        fd = fs.openSync(file, "r+");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      fs.closeSync(fd);
    }
  } catch (err) {
    throw asDataFolderError(f, subject, err) ?? err;
  }
}

/**
 * A failed `prisma migrate deploy` (lib/db/migrations.ts) whose cause is the disk, as the plain
 * message of that cause; any other failure as it is. Prisma's own output does not say (a read-only
 * or full disk is "External error id#0"), so the folders are checked again after the failure.
 */
export function explainMigrationFailure(err: unknown, folders: WritableFolder[]): unknown {
  for (const f of folders) {
    let found: DataFolderError | null = null;
    try {
      checkWritableFolder(f);
      const free = freeBytes(f.dir);
      if (free !== null && free < NEARLY_FULL_BYTES)
        found = new DataFolderError("ENOSPC", plainMessage(f, `${f.name} ${f.dir}`, "ENOSPC"));
    } catch (e) {
      if (e instanceof DataFolderError) found = e;
    }
    if (found) {
      logger.warn(
        { output: (err as Error)?.message?.slice(-2000) },
        "database migrations failed: the disk is the cause",
      );
      return new DataFolderError(found.code, found.message, { cause: err });
    }
  }
  return err;
}
