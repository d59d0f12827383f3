// `npm start` (lib/cli/start.cjs) builds when there is no build, when the sources are newer than the
// build (a `git pull`), or with --rebuild, and otherwise runs the compiled server at once. Run on a
// scratch project folder: a stand-in `npm` on PATH records the build, a stand-in server records its start.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const START = path.resolve(__dirname, "../../lib/cli/start.cjs");
let dir: string;

/** runs start.cjs in `dir`; returns what happened, in order ("build", "server") */
function start(...args: string[]): string[] {
  const log = path.join(dir, "events.log");
  fs.rmSync(log, { force: true });
  const r = spawnSync(process.execPath, [START, ...args], {
    cwd: dir,
    env: { ...process.env, PATH: `${path.join(dir, "bin")}${path.delimiter}${process.env.PATH}`, EVENTS: log },
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
  return fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
}

const setTime = (file: string, at: Date) => fs.utimesSync(path.join(dir, file), at, at);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "consentry-start-"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.mkdirSync(path.join(dir, "lib", "generated"), { recursive: true });
  fs.mkdirSync(path.join(dir, "app"));
  fs.writeFileSync(path.join(dir, "lib", "a.ts"), "export {};\n");
  fs.writeFileSync(path.join(dir, "app", "page.tsx"), "export {};\n");
  // the stand-in `npm run build` writes the build: Next's BUILD_ID and the compiled server
  fs.writeFileSync(
    path.join(dir, "bin", "npm"),
    `#!/bin/sh
echo build >> "$EVENTS"
mkdir -p .next/consentry
echo id > .next/BUILD_ID
echo 'require("node:fs").appendFileSync(process.env.EVENTS, "server\\\\n");' > .next/consentry/main.js
`,
    { mode: 0o755 },
  );
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("npm start's build check", () => {
  it("builds on a fresh clone, then starts without building while the build is newer than the sources", () => {
    expect(start()).toEqual(["build", "server"]);
    setTime("lib/a.ts", new Date(Date.now() - 60_000));
    setTime("app/page.tsx", new Date(Date.now() - 60_000));
    expect(start()).toEqual(["server"]);
  });

  it("builds again when a source is newer than the build (not for generated clients), and with --rebuild", () => {
    start();
    const old = new Date(Date.now() - 60_000);
    setTime("lib/a.ts", old);
    setTime("app/page.tsx", old);
    setTime(".next/consentry/main.js", new Date(Date.now() - 30_000));
    // a generated Prisma client written after the build (npm ci's postinstall) is not a change of sources
    fs.writeFileSync(path.join(dir, "lib", "generated", "client.js"), "\n");
    expect(start()).toEqual(["server"]);
    fs.writeFileSync(path.join(dir, "app", "page.tsx"), "export const changed = true;\n");
    expect(start()).toEqual(["build", "server"]);
    setTime("app/page.tsx", old);
    expect(start()).toEqual(["server"]);
    expect(start("--rebuild")).toEqual(["build", "server"]);
  });
});
