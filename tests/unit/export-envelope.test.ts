// The encrypted export file (lib/crypto/export-envelope.ts): scrypt + AES-256-GCM with every header field
// bound as associated data. Each way a file can be wrong gets its own answer, and a changed byte or
// header field never decrypts.
import { describe, expect, it } from "vitest";
import {
  EXPORT_FORMAT,
  EXPORT_KDF,
  ExportFileError,
  ZExportEnvelope,
  ZPassphrase,
  openEnvelope,
  parseExportFileText,
  sealEnvelope,
  type TExportEnvelope,
} from "@/lib/crypto/export-envelope";

const PASS = "correct horse battery staple";
const payload = { provider: "generic-oauth2", tokens: { access_token: "at-123", refresh_token: "rt-456" }, n: "ü✓🔑" };

/** The error openEnvelope throws for `raw`, or fails. */
async function refusal(raw: unknown, passphrase = PASS): Promise<ExportFileError> {
  try {
    await openEnvelope(raw, passphrase);
  } catch (e) {
    expect(e).toBeInstanceOf(ExportFileError);
    return e as ExportFileError;
  }
  throw new Error("the file opened");
}

const flipByte = (b64: string, at: number) => {
  const b = Buffer.from(b64, "base64url");
  b[at]! ^= 0x01;
  return b.toString("base64url");
};

describe("export envelope", async () => {
  const sealed = await sealEnvelope(payload, PASS, new Date("2026-12-06T10:00:00.000Z"));

  it("has the documented shape and parameters, and round-trips", async () => {
    expect(ZExportEnvelope.parse(sealed)).toEqual(sealed);
    expect(sealed).toMatchObject({
      format: EXPORT_FORMAT,
      version: 1,
      kdf: { name: "scrypt", N: 131072, r: 8, p: 1 },
      cipher: { name: "AES-256-GCM" },
      created_at: "2026-12-06T10:00:00.000Z",
    });
    expect(Buffer.from(sealed.kdf.salt, "base64url")).toHaveLength(16);
    expect(Buffer.from(sealed.cipher.iv, "base64url")).toHaveLength(12);
    expect(await openEnvelope(sealed, PASS)).toEqual(payload);
    // the plaintext appears nowhere in the file
    const text = JSON.stringify(sealed);
    for (const s of ["at-123", "rt-456", "generic-oauth2"]) expect(text).not.toContain(s);
  });

  it("a fresh salt and IV every time", async () => {
    const again = await sealEnvelope(payload, PASS);
    expect(again.kdf.salt).not.toBe(sealed.kdf.salt);
    expect(again.cipher.iv).not.toBe(sealed.cipher.iv);
    expect(again.ciphertext).not.toBe(sealed.ciphertext);
  });

  it("the passphrase is normalised (NFC): a decomposed spelling opens the file", async () => {
    const composed = "pässphrase-über-alles";
    const file = await sealEnvelope({ ok: 1 }, composed);
    expect(await openEnvelope(file, composed.normalize("NFD"))).toEqual({ ok: 1 });
  });

  it("a wrong passphrase → 'The passphrase is wrong or the file was changed'", async () => {
    const e = await refusal(sealed, `${PASS}!`);
    expect(e.problem).toBe("wrong_passphrase");
    expect(e.message).toBe("The passphrase is wrong or the file was changed.");
  });

  it("one flipped byte anywhere in the ciphertext or its tag → the same refusal", async () => {
    const n = Buffer.from(sealed.ciphertext, "base64url").length;
    for (const at of [0, Math.floor(n / 2), n - 1]) {
      const e = await refusal({ ...sealed, ciphertext: flipByte(sealed.ciphertext, at) });
      expect(e.problem).toBe("wrong_passphrase");
    }
  });

  it("every header field is bound: a changed salt, IV or created_at does not decrypt", async () => {
    const changed: TExportEnvelope[] = [
      { ...sealed, kdf: { ...sealed.kdf, salt: flipByte(sealed.kdf.salt, 3) } },
      { ...sealed, cipher: { ...sealed.cipher, iv: flipByte(sealed.cipher.iv, 0) } },
      { ...sealed, created_at: "2026-12-06T10:00:01.000Z" },
    ];
    for (const f of changed) expect((await refusal(f)).problem).toBe("wrong_passphrase");
  });

  it("KDF and cipher parameters are fixed per version: a file cannot ask for other costs", async () => {
    for (const kdf of [
      { ...sealed.kdf, N: 2 ** 20 },
      { ...sealed.kdf, N: 2 ** 14 },
      { ...sealed.kdf, r: 16 },
      { ...sealed.kdf, name: "pbkdf2" },
    ]) {
      const e = await refusal({ ...sealed, kdf });
      expect(e.problem).toBe("damaged");
      expect(e.field).toMatch(/^kdf\./);
    }
    const e = await refusal({ ...sealed, cipher: { ...sealed.cipher, name: "AES-128-CBC" } });
    expect(e).toMatchObject({ problem: "damaged", field: "cipher.name" });
  });

  it("a truncated or incomplete file names the field", async () => {
    const { ciphertext: _c, ...noCiphertext } = sealed;
    expect(await refusal(noCiphertext)).toMatchObject({ problem: "damaged", field: "ciphertext" });
    expect((await refusal(noCiphertext)).message).toBe(
      "The export file is incomplete or damaged: ciphertext is missing.",
    );
    const { kdf: _k, ...noKdf } = sealed;
    expect(await refusal(noKdf)).toMatchObject({ problem: "damaged", field: "kdf" });
    const short = { ...sealed, ciphertext: sealed.ciphertext.slice(0, 10) };
    expect(await refusal(short)).toMatchObject({ problem: "damaged", field: "ciphertext" });
    const extra = { ...sealed, comment: "hi" };
    expect(await refusal(extra)).toMatchObject({ problem: "damaged", field: "comment" });
    // a file cut short is no JSON at all
    const text = JSON.stringify(sealed);
    expect(() => parseExportFileText(text.slice(0, text.length / 2))).toThrow(/not valid JSON \(is it cut short\?\)/);
    expect(() => parseExportFileText("  ")).toThrow(/empty/);
    expect(await refusal([1, 2])).toMatchObject({ problem: "damaged", field: "" });
  });

  it("a version from the future says so, with its number", async () => {
    const e = await refusal({ ...sealed, version: 2 });
    expect(e.problem).toBe("newer_version");
    expect(e.version).toBe(2);
    expect(e.message).toBe("This file was made by a newer Consentry (version 2); this one reads version 1.");
    expect((await refusal({ ...sealed, version: 0 })).problem).toBe("damaged");
    expect((await refusal({ ...sealed, version: "1" })).problem).toBe("damaged");
  });

  it("an unknown format is not a Consentry export", async () => {
    for (const format of ["something-else", undefined, 7]) {
      const e = await refusal({ ...sealed, format });
      expect(e.problem).toBe("unknown_format");
      expect(e.message).toMatch(/not a Consentry connection export/);
    }
  });

  it("the passphrase needs at least 12 characters", () => {
    expect(ZPassphrase.safeParse("eleven-char").success).toBe(false);
    expect(ZPassphrase.safeParse("twelve-chars").success).toBe(true);
    expect(ZPassphrase.safeParse(undefined).error?.issues[0]?.message).toBe("validation.passphraseTooShort");
  });

  it("one derivation costs what the header says (N·r·128 bytes of memory)", () => {
    expect(EXPORT_KDF).toEqual({ name: "scrypt", N: 131072, r: 8, p: 1 });
    expect(128 * EXPORT_KDF.N * EXPORT_KDF.r).toBe(128 * 1024 * 1024);
  });
});
