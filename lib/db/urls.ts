import path from "node:path";

/** Absolute path of a `file:` SQLite URL. */
export function sqliteFilePath(url: string): string {
  return path.resolve(url.replace(/^file:/, ""));
}

/** Discrete pg connection fields (adapter-pg needs them for shadow databases; pools accept them too). */
export function pgConnectionFields(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || "postgres"),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1) || "postgres"),
  };
}
