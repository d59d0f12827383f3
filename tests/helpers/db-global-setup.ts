// Integration globalSetup: migrate ONE template database per engine per run, so each test file
// can start from a cheap copy (file copy / CREATE DATABASE … TEMPLATE) instead of migrating again.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "@/lib/db/migrations";
import { REPO_ROOT, TMP_ROOT } from "./paths";
import { createPgDatabase, dropPgDatabases, listPgDatabases, pgUrlFor } from "./pg-admin";
import { creatorPid, selectedDbKinds, testDbNameRegex, type DbKind, type TestDbRun } from "./db-run";

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Leftovers of runs that crashed before teardown (their pid is gone); live concurrent runs are kept. */
async function removeAbandoned(kinds: DbKind[]) {
  const abandoned = (name: string) => {
    const pid = creatorPid(name);
    return pid !== undefined && pid > 0 && !processAlive(pid);
  };
  if (fs.existsSync(TMP_ROOT)) {
    for (const dir of fs.readdirSync(TMP_ROOT))
      if (abandoned(dir)) fs.rmSync(path.join(TMP_ROOT, dir), { recursive: true, force: true });
  }
  if (kinds.includes("postgresql")) await dropPgDatabases((await listPgDatabases(testDbNameRegex())).filter(abandoned));
}

export default async function setup(project: TestProject) {
  const kinds = selectedDbKinds();
  const runId = `${process.pid}_${crypto.randomBytes(3).toString("hex")}`;
  const runDir = path.join(TMP_ROOT, `run_${runId}`);
  await removeAbandoned(kinds);
  fs.mkdirSync(runDir, { recursive: true });

  const run: TestDbRun = { runId, runDir, kinds };
  const started = Date.now();
  const migrating: Promise<void>[] = [];
  if (kinds.includes("sqlite")) {
    run.sqliteTemplate = path.join(runDir, "template.db");
    migrating.push(applyMigrations({ databaseUrl: `file:${run.sqliteTemplate}`, dataDir: runDir, root: REPO_ROOT }));
  }
  if (kinds.includes("postgresql")) {
    run.pgTemplate = `consentry_tpl_${runId}`;
    const tpl = run.pgTemplate;
    migrating.push(
      createPgDatabase(tpl).then(() =>
        applyMigrations({ databaseUrl: pgUrlFor(tpl), dataDir: runDir, root: REPO_ROOT }),
      ),
    );
  }
  try {
    await Promise.all(migrating);
  } catch (e) {
    await teardown(run);
    throw e;
  }
  console.error(`[db] templates for ${kinds.join(" + ")} migrated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide("consentryTestDb", run);
  return () => teardown(run);
}

async function teardown(run: TestDbRun) {
  if (run.kinds.includes("postgresql")) {
    await dropPgDatabases(await listPgDatabases(testDbNameRegex(run.runId)));
  }
  fs.rmSync(run.runDir, { recursive: true, force: true });
}
