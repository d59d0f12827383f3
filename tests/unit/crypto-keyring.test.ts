import { describe, expect, it } from "vitest";
import { newKeyLine, parseKeyring } from "@/lib/crypto/keyring";

const key32 = Buffer.alloc(32, 7).toString("base64");

describe("parseKeyring", () => {
  it("takes the first key as primary and keeps all for decryption (comma or newline separated)", () => {
    const k = parseKeyring(`new:${key32}\n old:${Buffer.alloc(32, 8).toString("base64")} ,`, "origin");
    expect(k.primary).toBe("new");
    expect([...k.keys.keys()]).toEqual(["new", "old"]);
    expect(k.keys.get("old")).toEqual(Buffer.alloc(32, 8));
  });

  it("accepts what newKeyLine generates", () => {
    const k = parseKeyring(newKeyLine("k_2026-11"), "generated");
    expect(k.primary).toBe("k_2026-11");
    expect(k.keys.get("k_2026-11")).toHaveLength(32);
  });

  it.each([
    ["an empty spec", "", /origin: no encryption key/],
    ["only separators", " , \n ", /no encryption key/],
    ["a key without an id", key32, /each key is "<id>:<base64 of 32 bytes>"/],
    ["an empty id", `:${key32}`, /each key is/],
    ["an id with spaces", `my key:${key32}`, /each key is/],
    ["an id longer than 32 characters", `${"k".repeat(33)}:${key32}`, /each key is/],
    ["a 16-byte key", `k1:${Buffer.alloc(16).toString("base64")}`, /key "k1" is 16 bytes; AES-256 needs 32/],
    ["a key that is not base64 of 32 bytes", "k1:not-a-key", /key "k1" is \d+ bytes/],
    ["a duplicate id", `k1:${key32},k1:${key32}`, /key id "k1" is listed twice/],
  ])("rejects %s with a readable message", (_label, spec, message) => {
    expect(() => parseKeyring(spec, "origin")).toThrow(message);
  });

  it("does not echo key material in its errors", () => {
    const short = Buffer.alloc(31, 9).toString("base64");
    let message = "";
    try {
      parseKeyring(`k1:${short}`, "CONSENTRY_ENCRYPTION_KEYS");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^CONSENTRY_ENCRYPTION_KEYS: /);
    expect(message).not.toContain(short);
  });
});
