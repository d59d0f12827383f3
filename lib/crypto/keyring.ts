// Encryption keys: from CONSENTRY_ENCRYPTION_KEYS ("kid:base64,kid:base64", first = newest, encrypts;
// all decrypt), or on the embedded default from a key file in the data folder, created once with 0600.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { env } from "@/lib/env";

export type Keyring = { primary: string; keys: Map<string, Buffer> };

const KID = /^[A-Za-z0-9_-]{1,32}$/;
export const KEY_FILE = "encryption-keys";

export function parseKeyring(spec: string, origin: string): Keyring {
  const keys = new Map<string, Buffer>();
  let primary: string | undefined;
  for (const raw of spec
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = raw.indexOf(":");
    const kid = raw.slice(0, i);
    const key = Buffer.from(raw.slice(i + 1), "base64");
    if (i < 1 || !KID.test(kid))
      throw new Error(`${origin}: each key is "<id>:<base64 of 32 bytes>", with an id of letters, digits, - or _`);
    if (key.length !== 32)
      throw new Error(`${origin}: key "${kid}" is ${key.length} bytes; AES-256 needs 32 (openssl rand -base64 32)`);
    // Ids are compared case-insensitively too: SQLite's LIKE (countStaleSecrets) ignores case.
    if ([...keys.keys()].some((k) => k.toLowerCase() === kid.toLowerCase()))
      throw new Error(`${origin}: key id "${kid}" is listed twice (ids are case-insensitive)`);
    keys.set(kid, key);
    primary ??= kid;
  }
  if (!primary) throw new Error(`${origin}: no encryption key`);
  return { primary, keys };
}

export function newKeyLine(kid: string): string {
  return `${kid}:${crypto.randomBytes(32).toString("base64")}`;
}

function keyFilePath() {
  return path.join(env().dataDir, KEY_FILE);
}

/** Writes a key file only if none exists (0600, exclusive create: two first starts cannot both write). */
export function ensureKeyFile(): { created: boolean; file: string } {
  const file = keyFilePath();
  if (fs.existsSync(file)) return { created: false, file };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, newKeyLine(`k${Date.now().toString(36)}`) + "\n", { mode: 0o600, flag: "wx" });
    return { created: true, file };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return { created: false, file };
    throw e;
  }
}

/** Adds a new primary key to the embedded key file (old keys stay for decryption). */
export function prependKeyToFile(): string {
  const file = keyFilePath();
  const current = fs.readFileSync(file, "utf8");
  const kid = `k${Date.now().toString(36)}`;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${newKeyLine(kid)}\n${current}`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  reloadKeyring();
  return kid;
}

let cached: Keyring | undefined;

export function keyring(): Keyring {
  if (cached) return cached;
  const configured = env().encryptionKeys;
  if (configured) return (cached = parseKeyring(configured, "CONSENTRY_ENCRYPTION_KEYS"));
  if (!env().embedded) {
    throw new Error(
      "CONSENTRY_ENCRYPTION_KEYS is required with PostgreSQL: generate one with `npm run cli -- keys generate`",
    );
  }
  const file = keyFilePath();
  if (!fs.existsSync(file)) ensureKeyFile();
  return (cached = parseKeyring(fs.readFileSync(file, "utf8"), file));
}

export function reloadKeyring() {
  cached = undefined;
}

/** Tests only: use this keyring instead of configuration. */
export function setKeyringForTests(k: Keyring | undefined) {
  cached = k;
}
