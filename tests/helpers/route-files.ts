// The route handlers under app/ as the file system declares them: each route.ts's URL segments (route
// groups dropped) and the HTTP methods it exports, whichever export form it uses.
import fs from "node:fs";
import path from "node:path";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];

export type RouteFile = { segments: string[]; methods: string[]; file: string };

/** every route.ts / route.tsx under `dir` (inside `appDir`); `file` is relative to `appDir` */
export function routeFiles(appDir: string, dir = appDir): RouteFile[] {
  const out: RouteFile[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name === "route.ts" || e.name === "route.tsx") {
        const src = fs.readFileSync(full, "utf8");
        out.push({
          segments: path
            .relative(appDir, path.dirname(full))
            .split(path.sep)
            .filter((s) => s && !/^\(.*\)$/.test(s)),
          methods: METHODS.filter((m) =>
            new RegExp(
              `export\\s+(const|async\\s+function|function)\\s+${m}\\b|export\\s+const\\s*\\{[^}]*\\b${m}\\b[^}]*\\}|export\\s*\\{[^}]*\\b${m}\\b[^}]*\\}`,
            ).test(src),
          ),
          file: path.relative(appDir, full),
        });
      }
    }
  };
  walk(dir);
  return out;
}
