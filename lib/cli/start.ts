// The production server from the TypeScript sources (`node --import tsx lib/cli/start.ts`), as the test suites run
// it: builds the production bundle when there is none, then runs the server. `npm start` runs the same server
// compiled, without tsx (lib/cli/start.cjs).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = process.cwd();
const buildId = path.join(root, ".next", "BUILD_ID");
if (!fs.existsSync(buildId) || process.argv.includes("--rebuild")) {
  process.stderr.write("No production build yet: building once (a minute or two)…\n");
  const r = spawnSync("npm", ["run", "build"], { stdio: "inherit", cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// the server starts when its module is loaded
void import("@/lib/server/main");
