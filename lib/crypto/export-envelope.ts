// Consentry's own file format for a moved connection, written here because no library seals JSON under a passphrase with its header bound as AAD; every cryptographic step is a node:crypto call (scrypt, AES-256-GCM).
//
// { format, version, kdf: { name: "scrypt", N, r, p, salt }, cipher: { name: "AES-256-GCM", iv },
//   ciphertext (the GCM tag appended), created_at }. The associated data is every header field in a
// fixed order, so a changed header fails decryption just as a changed ciphertext does. The KDF
// parameters of a version are fixed: a file cannot ask this installation for more memory or time.
import crypto from "node:crypto";
import { z } from "zod";

export const EXPORT_FORMAT = "consentry-connection-export";
export const EXPORT_VERSION = 1;
/** OWASP's scrypt minimum (N=2^17, r=8, p=1): 128 MiB and about 0.4 s per derivation on a 2-core machine. */
export const EXPORT_KDF = { name: "scrypt", N: 131072, r: 8, p: 1 } as const;
/** scrypt needs 128·N·r bytes; Node refuses anything above maxmem (32 MiB by default). */
const SCRYPT_MAXMEM = 256 * 1024 * 1024;
/** At most this many derivations at once in this process (each holds 128 MiB). */
const MAX_CONCURRENT_DERIVATIONS = 2;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export const PASSPHRASE_MIN = 12;
/** Normalised (NFC) before use, so the same passphrase typed on another system opens the file. */
export const ZPassphrase = z
  .string({ error: "validation.passphraseTooShort" })
  .min(PASSPHRASE_MIN, "validation.passphraseTooShort")
  .max(1024, "validation.passphraseTooLong")
  .describe(`At least ${PASSPHRASE_MIN} characters; give it to the importer by another channel than the file.`);

const b64url = (bytes: number | { min: number }) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "not base64url")
    .refine(
      (s) => {
        const n = Buffer.from(s, "base64url").length;
        return typeof bytes === "number" ? n === bytes : n >= bytes.min;
      },
      typeof bytes === "number" ? `must be ${bytes} bytes` : `must be at least ${bytes.min} bytes`,
    );

export const ZExportEnvelope = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    version: z.literal(EXPORT_VERSION),
    kdf: z
      .object({
        name: z.literal(EXPORT_KDF.name),
        N: z.literal(EXPORT_KDF.N),
        r: z.literal(EXPORT_KDF.r),
        p: z.literal(EXPORT_KDF.p),
        salt: b64url(SALT_BYTES),
      })
      .strict(),
    cipher: z.object({ name: z.literal("AES-256-GCM"), iv: b64url(IV_BYTES) }).strict(),
    ciphertext: b64url({ min: TAG_BYTES + 1 }).describe("base64url; the 16-byte GCM tag is appended"),
    created_at: z.iso.datetime(),
  })
  .strict()
  .meta({ id: "ExportEnvelope", description: "An encrypted connection export (scrypt + AES-256-GCM)." });
export type TExportEnvelope = z.infer<typeof ZExportEnvelope>;

export type ExportFileProblem = "wrong_passphrase" | "damaged" | "newer_version" | "unknown_format";

/** Why a file could not be opened, with the envelope field at fault (dotted, "" for the whole file). */
export class ExportFileError extends Error {
  constructor(
    readonly problem: ExportFileProblem,
    message: string,
    readonly field = "",
    readonly version?: number,
  ) {
    super(message);
    this.name = "ExportFileError";
  }
}

let running = 0;
const waiting: Array<() => void> = [];

async function deriveKey(passphrase: string, salt: Buffer): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_DERIVATIONS) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await new Promise<Buffer>((resolve, reject) =>
      crypto.scrypt(
        passphrase.normalize("NFC"),
        salt,
        32,
        { N: EXPORT_KDF.N, r: EXPORT_KDF.r, p: EXPORT_KDF.p, maxmem: SCRYPT_MAXMEM },
        (err, key) => (err ? reject(err) : resolve(key)),
      ),
    );
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Every header field, in a fixed order: the GCM associated data. */
function associatedData(e: Omit<TExportEnvelope, "ciphertext">): Buffer {
  return Buffer.from(
    JSON.stringify([
      e.format,
      e.version,
      e.kdf.name,
      e.kdf.N,
      e.kdf.r,
      e.kdf.p,
      e.kdf.salt,
      e.cipher.name,
      e.cipher.iv,
      e.created_at,
    ]),
  );
}

/** Seals a JSON value under the passphrase. */
export async function sealEnvelope(payload: unknown, passphrase: string, now = new Date()): Promise<TExportEnvelope> {
  const salt = crypto.randomBytes(SALT_BYTES);
  const iv = crypto.randomBytes(IV_BYTES);
  const header = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    kdf: { ...EXPORT_KDF, salt: salt.toString("base64url") },
    cipher: { name: "AES-256-GCM", iv: iv.toString("base64url") },
    created_at: now.toISOString(),
  } as const;
  const key = await deriveKey(passphrase, salt);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(associatedData(header));
  const ct = Buffer.concat([cipher.update(JSON.stringify(payload), "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { ...header, ciphertext: ct.toString("base64url") };
}

/** The envelope's header checked in the order that gives the most useful answer: format, version, then every field. */
function readHeader(raw: unknown): TExportEnvelope {
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new ExportFileError("damaged", "The export file is not a JSON object.");
  const o = raw as Record<string, unknown>;
  if (o.format !== EXPORT_FORMAT)
    throw new ExportFileError(
      "unknown_format",
      `This is not a Consentry connection export (its format is not "${EXPORT_FORMAT}").`,
      "format",
    );
  if (typeof o.version === "number" && Number.isInteger(o.version) && o.version > EXPORT_VERSION)
    throw new ExportFileError(
      "newer_version",
      `This file was made by a newer Consentry (version ${o.version}); this one reads version ${EXPORT_VERSION}.`,
      "version",
      o.version,
    );
  const parsed = ZExportEnvelope.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join(".");
    const value = issue.path.reduce<unknown>(
      (v, k) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined),
      raw,
    );
    const what =
      value === undefined && issue.code !== "unrecognized_keys"
        ? "is missing"
        : issue.code === "unrecognized_keys"
          ? `has unknown fields (${issue.keys.join(", ")})`
          : `is not valid (${issue.message})`;
    throw new ExportFileError(
      "damaged",
      `The export file is incomplete or damaged: ${field || "the file"} ${what}.`,
      issue.code === "unrecognized_keys" ? issue.keys[0]! : field,
    );
  }
  return parsed.data;
}

/** Opens a sealed file: the JSON value inside, or ExportFileError saying what is wrong. */
export async function openEnvelope(raw: unknown, passphrase: string): Promise<unknown> {
  const e = readHeader(raw);
  const key = await deriveKey(passphrase, Buffer.from(e.kdf.salt, "base64url"));
  const data = Buffer.from(e.ciphertext, "base64url");
  let plaintext: string;
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(e.cipher.iv, "base64url"));
    decipher.setAAD(associatedData(e));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    plaintext = Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    // GCM cannot tell a wrong key from changed bytes, and says nothing more on purpose
    throw new ExportFileError("wrong_passphrase", "The passphrase is wrong or the file was changed.");
  }
  try {
    return JSON.parse(plaintext) as unknown;
  } catch {
    throw new ExportFileError("damaged", "The export file decrypted but holds no JSON.", "ciphertext");
  }
}

/** A file's text as the JSON value openEnvelope takes (the CLI and the portal read files; the API gets JSON). */
export function parseExportFileText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ExportFileError(
      "damaged",
      text.trim() ? "The export file is not valid JSON (is it cut short?)." : "The export file is empty.",
    );
  }
}
