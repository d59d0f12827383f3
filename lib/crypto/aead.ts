// AES-256-GCM for secrets at rest. Every value carries its key id and a random 96-bit IV, and is
// bound by associated data to the row and field it belongs to, so a ciphertext copied to another
// row or column does not decrypt. Format: "enc1.<kid>.<iv b64url>.<ciphertext+tag b64url>".
import crypto from "node:crypto";
import { keyring } from "@/lib/crypto/keyring";

export type SecretContext = {
  /** table, e.g. "TokenSet" */
  table: string;
  /** organization id, or "platform" for installation-wide rows */
  organizationId: string | null;
  /** the id of the row the value is bound to */
  rowId: string;
  /** column name, e.g. "accessTokenEnc" */
  field: string;
};

const PREFIX = "enc1";

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptionError";
  }
}

function aad(ctx: SecretContext): Buffer {
  for (const part of [ctx.table, ctx.rowId, ctx.field])
    if (!part || part.includes("|")) throw new Error("invalid secret context");
  return Buffer.from(`consentry|${ctx.table}|${ctx.organizationId ?? "platform"}|${ctx.rowId}|${ctx.field}`);
}

export function encryptSecret(plaintext: string, ctx: SecretContext): string {
  const { primary, keys } = keyring();
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", keys.get(primary)!, iv);
  cipher.setAAD(aad(ctx));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}.${primary}.${iv.toString("base64url")}.${ct.toString("base64url")}`;
}

export function keyIdOf(value: string): string {
  const parts = value.split(".");
  if (parts.length !== 4 || parts[0] !== PREFIX) throw new DecryptionError("not an encrypted value");
  return parts[1]!;
}

export function decryptSecret(value: string, ctx: SecretContext): string {
  const parts = value.split(".");
  if (parts.length !== 4 || parts[0] !== PREFIX) throw new DecryptionError("not an encrypted value");
  const [, kid, ivB64, ctB64] = parts as [string, string, string, string];
  const key = keyring().keys.get(kid);
  if (!key) throw new DecryptionError(`encryption key "${kid}" is not configured`);
  const iv = Buffer.from(ivB64, "base64url");
  const data = Buffer.from(ctB64, "base64url");
  if (iv.length !== 12 || data.length < 16) throw new DecryptionError("malformed encrypted value");
  try {
    const decipher = crypto.createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(aad(ctx));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
  } catch {
    // Fail closed with no detail: tampered, wrong key, or bound to another row/field.
    throw new DecryptionError("encrypted value failed authentication");
  }
}
