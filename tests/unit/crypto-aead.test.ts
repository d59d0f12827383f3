import { describe, expect, it } from "vitest";
import { DecryptionError, decryptSecret, encryptSecret, keyIdOf, type SecretContext } from "@/lib/crypto/aead";
import { K1, K2, installKeyring } from "../helpers/keyring";

const ctx: SecretContext = { table: "TokenSet", organizationId: "org_a", rowId: "conn_1", field: "accessTokenEnc" };

/** Flips one bit of one base64url part of "enc1.<kid>.<iv>.<ct+tag>". */
function flipBit(value: string, part: "iv" | "ct" | "tag"): string {
  const [prefix, kid, iv, data] = value.split(".") as [string, string, string, string];
  const ivBuf = Buffer.from(iv, "base64url");
  const dataBuf = Buffer.from(data, "base64url");
  if (part === "iv") ivBuf[0]! ^= 0x01;
  if (part === "ct") dataBuf[0]! ^= 0x01;
  if (part === "tag") dataBuf[dataBuf.length - 1]! ^= 0x80;
  return [prefix, kid, ivBuf.toString("base64url"), dataBuf.toString("base64url")].join(".");
}

describe("encryptSecret / decryptSecret", () => {
  it("round-trips, including empty and non-ASCII values", () => {
    installKeyring(K1);
    for (const plain of ["eyJhbGciOi.access.token", "", "pässwörd ✓ 🔑", "x".repeat(10_000)]) {
      const sealed = encryptSecret(plain, ctx);
      expect(sealed).toMatch(/^enc1\.k1\.[\w-]{16}\.[\w-]+$/);
      expect(decryptSecret(sealed, ctx)).toBe(plain);
    }
  });

  it("never contains the plaintext and uses a fresh IV every time", () => {
    installKeyring(K1);
    const a = encryptSecret("same-secret", ctx);
    const b = encryptSecret("same-secret", ctx);
    expect(a).not.toBe(b);
    expect(a.split(".")[2]).not.toBe(b.split(".")[2]);
    expect(a).not.toContain("same-secret");
    expect(Buffer.from(a.split(".")[3]!, "base64url").toString("latin1")).not.toContain("same-secret");
  });

  it.each(["iv", "ct", "tag"] as const)("refuses a value with one bit flipped in the %s", (part) => {
    installKeyring(K1);
    const sealed = encryptSecret("secret-value", ctx);
    expect(() => decryptSecret(flipBit(sealed, part), ctx)).toThrow(DecryptionError);
  });

  it("refuses truncated and malformed values", () => {
    installKeyring(K1);
    const sealed = encryptSecret("secret-value", ctx);
    const [p, kid, iv, data] = sealed.split(".") as [string, string, string, string];
    for (const bad of [
      `${p}.${kid}.${iv}.${data.slice(0, 10)}`,
      `${p}.${kid}.${iv.slice(0, 8)}.${data}`,
      `enc2.${kid}.${iv}.${data}`,
      `${p}.${kid}.${iv}`,
      "secret-value",
      "",
    ]) {
      expect(() => decryptSecret(bad, ctx), bad).toThrow(DecryptionError);
    }
  });

  it.each([
    ["rowId", { rowId: "conn_2" }],
    ["field", { field: "refreshTokenEnc" }],
    ["table", { table: "OAuthApp" }],
    ["organizationId", { organizationId: "org_b" }],
    ["organizationId (platform)", { organizationId: null }],
  ] as const)("refuses the same ciphertext bound to another %s", (_label, change) => {
    installKeyring(K1);
    const sealed = encryptSecret("secret-value", ctx);
    expect(() => decryptSecret(sealed, { ...ctx, ...change })).toThrow(DecryptionError);
  });

  it("refuses a value under a key id the keyring does not have, without echoing key material", () => {
    installKeyring(K1);
    const sealed = encryptSecret("secret-value", ctx);
    installKeyring(K2);
    expect(() => decryptSecret(sealed, ctx)).toThrow(DecryptionError);
    expect(() => decryptSecret(sealed, ctx)).toThrow(/"k1" is not configured/);
    // relabelling the value with a key id that exists does not help either
    expect(() => decryptSecret(sealed.replace(".k1.", ".k2."), ctx)).toThrow(DecryptionError);
  });

  it("rejects contexts that could make associated data ambiguous", () => {
    installKeyring(K1);
    expect(() => encryptSecret("x", { ...ctx, rowId: "a|b" })).toThrow();
    expect(() => encryptSecret("x", { ...ctx, field: "" })).toThrow();
  });
});

describe("key rotation", () => {
  it("keeps old values readable after a new primary key is added, and encrypts new values under it", () => {
    installKeyring(K1);
    const old = encryptSecret("before-rotation", ctx);
    expect(keyIdOf(old)).toBe("k1");

    installKeyring(K2, K1);
    expect(decryptSecret(old, ctx)).toBe("before-rotation");
    const fresh = encryptSecret("after-rotation", ctx);
    expect(keyIdOf(fresh)).toBe("k2");
    expect(decryptSecret(fresh, ctx)).toBe("after-rotation");

    // once k1 is retired, only values re-encrypted under k2 remain readable
    installKeyring(K2);
    expect(decryptSecret(fresh, ctx)).toBe("after-rotation");
    expect(() => decryptSecret(old, ctx)).toThrow(DecryptionError);
  });

  it("keyIdOf rejects non-encrypted values", () => {
    expect(() => keyIdOf("plain-token")).toThrow(DecryptionError);
  });
});
