import { describe, expect, it } from "vitest";
import { generatePassword, hashPassword, verifyPassword } from "@/lib/auth/password";

describe("password hashing", () => {
  it("hashes with scrypt and a random salt, and verifies only the right password", async () => {
    const a = await hashPassword("correct horse battery staple");
    const b = await hashPassword("correct horse battery staple");
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("correct horse");
    expect(await verifyPassword("correct horse battery staple", a)).toBe(true);
    expect(await verifyPassword("correct horse battery staple", b)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
  });

  it("refuses missing, foreign and tampered hashes", async () => {
    const good = await hashPassword("pw");
    const parts = good.split("$");
    const otherHash = (await hashPassword("other")).split("$")[5];
    for (const stored of [
      null,
      undefined,
      "",
      "pw",
      "bcrypt$2b$10$abcdefghijklmnopqrstuv",
      [...parts.slice(0, 5), otherHash].join("$"),
      // an empty or too-short hash must not compare equal to an empty derived key
      [...parts.slice(0, 5), ""].join("$"),
      [...parts.slice(0, 5), "AAAA"].join("$"),
    ]) {
      expect(await verifyPassword("pw", stored), String(stored)).toBe(false);
    }
  });

  it("generates typeable one-time passwords", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{5}(-[a-km-zA-HJ-NP-Z2-9]{5}){3}$/);
      seen.add(p);
    }
    expect(seen.size).toBe(50);
  });
});
