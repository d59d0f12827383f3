// `npm run build`, last step: the production server (lib/server/main.ts) and the portal child
// (lib/server/portal-child.ts) compiled to plain JavaScript in .next/consentry/, so that `npm start`
// runs them with node alone: no TypeScript loader in either process (tsx's loader thread and
// transform cache cost each one tens of MB; see README, "Performance"). Packages stay in
// node_modules (not bundled); only the project's own code is. Run after `next build`, which empties .next.
import path from "node:path";
import { build } from "esbuild";

const SERVER_DIR = path.join(".next", "consentry");

async function main() {
  const root = process.cwd();
  await build({
    absWorkingDir: root,
    entryPoints: { main: "lib/server/main.ts", "portal-child": "lib/server/portal-child.ts" },
    outdir: SERVER_DIR,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    packages: "external",
    // the generated Prisma clients are ES modules that locate themselves with import.meta.url
    define: { "import.meta.url": "__consentryModuleUrl" },
    banner: { js: 'const __consentryModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    sourcemap: "linked",
    logLevel: "warning",
  });
  process.stderr.write(`Compiled the server into ${SERVER_DIR}/ (main.js, portal-child.js).\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
