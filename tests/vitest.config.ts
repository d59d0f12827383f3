// Two projects: `unit` (no database) and `integration` (every suite runs on SQLite and PostgreSQL,
// each test file on its own copy of a database migrated once per run; see tests/helpers/db.ts).
// Run from the repository root: npx vitest run --config tests/vitest.config.ts [--project unit]
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export default defineConfig({
  root,
  resolve: { alias: [{ find: /^@\//, replacement: `${root}/` }] },
  test: {
    // 2 cores: more workers only add contention (and PostgreSQL connections).
    maxWorkers: 2,
    setupFiles: ["tests/helpers/setup.ts"],
    env: {
      NODE_ENV: "test",
      // Anything that falls back to the data folder (key file, default SQLite file) stays in tests/.tmp.
      CONSENTRY_DATA_DIR: path.join(root, "tests", ".tmp", "data"),
    },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          // the logger tests need lines at info level
          env: { LOG_LEVEL: "info" },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          globalSetup: ["tests/helpers/db-global-setup.ts"],
          env: { LOG_LEVEL: "warn" },
          testTimeout: 30_000,
          // cloning a template is quick; migrating an empty PostgreSQL database takes ~12 s
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
