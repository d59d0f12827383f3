// The npm registry mirror these machines use serves only linux-x64 builds of platform-specific
// packages, so `npm install` leaves the other platforms' optional dependencies out of
// package-lock.json and `npm ci` then refuses the lock as "out of sync". This adds the missing
// entries as optional, platform-tagged packages, which `npm ci` skips on linux-x64 without a fetch.
// Run after every `npm install` that changes the lock: `node .ci/fix-lockfile.mjs`.
import fs from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(fs.readFileSync(lockPath, "utf8"));
const pkgs = lock.packages;

const platformOf = (name) => {
  const os = ["darwin", "win32", "linux", "android", "freebsd", "openbsd", "sunos", "aix", "wasm32"].find((o) =>
    name.includes(`-${o}`),
  );
  const cpu = ["arm64", "x64", "ia32", "arm", "ppc64", "s390x", "riscv64", "loong64", "wasi"].find((c) =>
    new RegExp(`-${c}(\\b|-|$)`).test(name.replace(/^.*\//, "").replace(/^[^-]*-/, "-")),
  );
  if (name.includes("wasm32")) return { cpu: ["wasm32"] };
  return { ...(os ? { os: [os] } : {}), ...(cpu ? { cpu: [cpu] } : {}) };
};

let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${dep}` : `node_modules/${dep}`;
    if (pkgs[base] || pkgs[`node_modules/${dep}`]) continue;
    const plat = platformOf(dep);
    if (!plat.os && !plat.cpu) continue;
    pkgs[`node_modules/${dep}`] = { version: range.replace(/^[\^~=]/, ""), optional: true, ...plat };
    added++;
  }
}
fs.writeFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n");
console.error(`fix-lockfile: added ${added} platform entries`);
