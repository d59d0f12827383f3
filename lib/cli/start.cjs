// `npm start`: the production server as compiled JavaScript, in this very process, so that nothing of
// ours stays resident between npm and the server (no tsx loader, no wrapper; see README, "Performance").
// Plain JavaScript because it must run before anything is built: without a build (a fresh clone), or
// with --rebuild, it builds once first (`npm run build`: Next's bundle, then lib/cli/build-server.ts).
// The same server from the TypeScript sources, as the test suites run it: node --import tsx lib/cli/start.ts
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = process.cwd();
const server = path.join(root, ".next", "consentry", "main.js");
const built = fs.existsSync(path.join(root, ".next", "BUILD_ID")) && fs.existsSync(server);
if (!built || process.argv.includes("--rebuild")) {
  process.stderr.write("No production build yet: building once (a minute or two)…\n");
  const r = spawnSync("npm", ["run", "build"], { stdio: "inherit", cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// the server starts when its module is loaded
require(server);
