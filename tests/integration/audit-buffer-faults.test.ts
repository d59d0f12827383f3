// Audit rows the database refuses are kept, not dropped (SECURITY.md 42): retried until the database
// takes them, memory bounded (MAX_BUFFERED_ROWS per database), the overflow spilled to a file on the
// embedded default and written back later; where there is no spill file, a drop is counted and logged.
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "@/lib/db/client";
import { sqliteFilePath } from "@/lib/db/urls";
import { env } from "@/lib/env";
import { createLogger } from "@/lib/logger";
import {
  MAX_BUFFERED_ROWS,
  auditRowsBuffered,
  auditRowsDropped,
  bufferAuditValues,
  flushAuditBuffer,
} from "@/lib/audit/audit-buffer";
import type { AuditValues } from "@/lib/db/hot-queries";
import { cloneTemplate, dbKinds } from "../helpers/db";

const row = (i: number): AuditValues => [
  null,
  "system",
  null,
  "audit test",
  "test.audit_fault",
  null,
  null,
  "success",
  null,
  `r-${i}`,
  "{}",
];

const logged: string[] = [];
const g = globalThis as unknown as { __consentryLogger?: ReturnType<typeof createLogger> };
let previousLogger: ReturnType<typeof createLogger> | undefined;
beforeAll(() => {
  previousLogger = g.__consentryLogger;
  g.__consentryLogger = createLogger({ write: (s: string) => void logged.push(s) });
});
afterAll(() => {
  g.__consentryLogger = previousLogger;
});

describe.skipIf(!dbKinds().includes("sqlite"))("audit rows while SQLite is locked by another process", () => {
  it("kept in memory up to the bound, the rest spilled to a file; all written once the lock is gone, the spill file included", async () => {
    const scratch = await cloneTemplate("sqlite");
    // (the audit writer thread waits 10 s for a lock before it gives a batch back)
    const db = createDb(scratch.url);
    const other = new Database(sqliteFilePath(scratch.url));
    try {
      other.prepare("BEGIN EXCLUSIVE").run();
      const total = MAX_BUFFERED_ROWS + 250;
      for (let i = 0; i < total; i++) bufferAuditValues(db, row(i));
      await flushAuditBuffer();
      // refused: the newest MAX_BUFFERED_ROWS stay in memory, the oldest 250 went to the spill file
      expect(auditRowsBuffered()).toBe(MAX_BUFFERED_ROWS);
      // this database's spill file (one per database URL)
      const spillFile = path.join(
        env().dataDir,
        "audit-spill",
        `${crypto.createHash("sha256").update(scratch.url).digest("hex").slice(0, 16)}.jsonl`,
      );
      expect(fs.readFileSync(spillFile, "utf8").trim().split("\n")).toHaveLength(250);
      expect(logged.join("")).toMatch(/audit batch not recorded yet: kept and retried/);

      other.prepare("COMMIT").run();
      await flushAuditBuffer();
      expect(auditRowsBuffered()).toBe(0);
      expect(await db.auditEvent.count({ where: { action: "test.audit_fault" } })).toBe(total);
      expect(
        new Set(
          (await db.auditEvent.findMany({ where: { action: "test.audit_fault" }, select: { requestId: true } })).map(
            (r) => r.requestId,
          ),
        ).size,
      ).toBe(total);
      expect(fs.existsSync(spillFile)).toBe(false);
      expect(logged.join("")).not.toMatch(/audit rows dropped/);
    } finally {
      if (other.inTransaction) other.prepare("ROLLBACK").run();
      other.close();
      await db.$disconnect();
      await scratch.drop();
    }
  }, 60_000);
});

describe.skipIf(!dbKinds().includes("postgresql"))("audit rows while PostgreSQL cannot be reached", () => {
  it("kept and retried up to the bound; beyond it (no spill file on PostgreSQL) every dropped row is counted and logged", async () => {
    // a port nothing listens on
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const db = createDb(`postgresql://postgres@127.0.0.1:${port}/nowhere`, { poolSize: 2 });
    try {
      const droppedBefore = auditRowsDropped();
      for (let i = 0; i < MAX_BUFFERED_ROWS + 40; i++) bufferAuditValues(db, row(i));
      await flushAuditBuffer();
      expect(auditRowsBuffered()).toBe(MAX_BUFFERED_ROWS);
      expect(auditRowsDropped() - droppedBefore).toBe(40);
      // logged at once, then once a minute with the count since (not once per row)
      const drops = logged
        .map((l) => JSON.parse(l) as { msg: string; dropped?: number })
        .filter((l) => /audit rows dropped/.test(l.msg));
      expect(drops).toHaveLength(1);
      expect(drops[0]!.dropped).toBeGreaterThanOrEqual(1);
      // a final flush (shutdown) with the database still away: the rest is dropped too, counted
      await flushAuditBuffer({ final: true });
      expect(auditRowsBuffered()).toBe(0);
      expect(auditRowsDropped() - droppedBefore).toBe(MAX_BUFFERED_ROWS + 40);
    } finally {
      await db.$disconnect();
    }
  }, 60_000);
});
