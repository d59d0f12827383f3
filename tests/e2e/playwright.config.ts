// Browser tests against the production build (next build + our server), once on the embedded
// SQLite default and once on PostgreSQL, in Debian's Chromium.
import { defineConfig } from "@playwright/test";
import { SERVERS } from "./servers";

export default defineConfig({
  testDir: ".",
  outputDir: "../.tmp/e2e-results",
  globalSetup: "./global-setup.ts",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env.CI ? [["list"]] : [["list"]],
  use: {
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    locale: "en-US",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: SERVERS.map((s) => ({ name: s.kind, use: { baseURL: s.url } })),
});
