// What the integration globalSetup hands to test files (through vitest's provide/inject).
export type DbKind = "sqlite" | "postgresql";
export const ALL_DB_KINDS: readonly DbKind[] = ["sqlite", "postgresql"];

/** Every database a run creates is named consentry_{tpl|t|e}_<pid>_<hex>[_<hex>] (for crash clean-up). */
export function testDbNameRegex(runId = "[0-9]+_[0-9a-f]+"): string {
  return `^consentry_(tpl|t|e)_${runId}(_[0-9a-f]+)?$`;
}
/** The pid of the run that created a test database or run folder; undefined for anything else. */
export function creatorPid(name: string): number | undefined {
  const m = /^(?:consentry_(?:tpl|t|e)|run)_([0-9]+)_[0-9a-f]+(?:_[0-9a-f]+)?(?:\.db)?$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export type TestDbRun = {
  runId: string;
  /** tests/.tmp/run_<runId>: SQLite template and copies */
  runDir: string;
  kinds: DbKind[];
  sqliteTemplate?: string;
  pgTemplate?: string;
};

/** Both engines unless CONSENTRY_TEST_DATABASES narrows it (e.g. "sqlite" on a laptop without PostgreSQL). */
export function selectedDbKinds(): DbKind[] {
  const raw = process.env.CONSENTRY_TEST_DATABASES;
  if (!raw) return [...ALL_DB_KINDS];
  const kinds = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = kinds.filter((k) => !ALL_DB_KINDS.includes(k as DbKind));
  if (unknown.length || kinds.length === 0)
    throw new Error(`CONSENTRY_TEST_DATABASES: expected sqlite and/or postgresql, got "${raw}"`);
  return kinds as DbKind[];
}

declare module "vitest" {
  export interface ProvidedContext {
    consentryTestDb: TestDbRun;
  }
}
