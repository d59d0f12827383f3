// The session-signing secret: AUTH_SECRET, or on the embedded default a random one kept in the data folder.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { env } from "@/lib/env";

let cached: string | undefined;

export function authSecret(): string {
  if (cached) return cached;
  const configured = env().authSecret;
  if (configured) return (cached = configured);
  if (!env().embedded) throw new Error("AUTH_SECRET is required with PostgreSQL (openssl rand -base64 48)");
  const file = path.join(env().dataDir, "auth-secret");
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(48).toString("base64url"), { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  return (cached = fs.readFileSync(file, "utf8").trim());
}
