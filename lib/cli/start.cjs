// `npm start`: the production server as compiled JavaScript, in this very process, so that nothing of
// ours stays resident between npm and the server (no tsx loader, no wrapper; see README, "Performance").
// Plain JavaScript because it must run before anything is built: without a build (a fresh clone), with
// sources newer than the build (a `git pull`), or with --rebuild, it builds first (`npm run build`:
// Next's bundle, then lib/cli/build-server.ts).
// The same server from the TypeScript sources, as the test suites run it: node --import tsx lib/cli/start.ts
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = process.cwd();
const server = path.join(root, ".next", "consentry", "main.js");

/** the newest modification time of what a build is made from (a `git pull` touches what it changes) */
function newestSource() {
  let newest = 0;
  const visit = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (p.endsWith(`${path.sep}generated`) || p.endsWith(`${path.sep}node_modules`)) return;
      for (const name of fs.readdirSync(p)) visit(path.join(p, name));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ["app", "lib", "prisma", "public", "next.config.js", "package-lock.json", "tsconfig.json"])
    visit(path.join(root, p));
  return newest;
}

const built = fs.existsSync(path.join(root, ".next", "BUILD_ID")) && fs.existsSync(server);
const stale = built && newestSource() > fs.statSync(server).mtimeMs;
if (!built || stale || process.argv.includes("--rebuild")) {
  process.stderr.write(
    stale
      ? "The sources changed since the last build: building again (a minute or two)…\n"
      : "No production build yet: building once (a minute or two)…\n",
  );
  const r = spawnSync("npm", ["run", "build"], { stdio: "inherit", cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// the server starts when its module is loaded
require(server);
