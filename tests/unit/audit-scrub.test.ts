import { describe, expect, it } from "vitest";
import { scrubDetails } from "@/lib/audit/record-audit-event";

describe("scrubDetails", () => {
  it("redacts secret-bearing keys at any depth and keeps the rest", () => {
    const out = scrubDetails({
      email: "a@example.test",
      client_secret: "s1",
      nested: { accessToken: "s2", refresh_token: "s3", scopes: "openid", items: [{ password: "s4", name: "kept" }] },
      headers: { Authorization: "Bearer s5", Cookie: "s6" },
      code_verifier: "s7",
      privateKeyPem: "s8",
      state: "s9",
      errorCode: "invalid_grant",
      error_code: "x",
      statusCode: 400,
    });
    expect(out).toEqual({
      email: "a@example.test",
      client_secret: "[redacted]",
      nested: {
        accessToken: "[redacted]",
        refresh_token: "[redacted]",
        scopes: "openid",
        items: [{ password: "[redacted]", name: "kept" }],
      },
      headers: { Authorization: "[redacted]", Cookie: "[redacted]" },
      code_verifier: "[redacted]",
      privateKeyPem: "[redacted]",
      state: "[redacted]",
      errorCode: "invalid_grant",
      error_code: "x",
      statusCode: 400,
    });
    expect(JSON.stringify(out)).not.toMatch(/"s\d"/);
  });

  it("bounds depth, array length and string length", () => {
    const deep = { a: { b: { c: { d: { e: { f: "too deep" } } } } } };
    expect(JSON.stringify(scrubDetails(deep))).toContain("[truncated]");
    expect(JSON.stringify(scrubDetails(deep))).not.toContain("too deep");
    expect((scrubDetails({ list: Array.from({ length: 80 }, (_, i) => i) }) as { list: number[] }).list).toHaveLength(
      50,
    );
    const long = scrubDetails({ note: "x".repeat(2000) }) as { note: string };
    expect(long.note).toHaveLength(501);
    expect(long.note.endsWith("…")).toBe(true);
  });

  it("passes primitives and null through", () => {
    expect(scrubDetails(null)).toBe(null);
    expect(scrubDetails(3)).toBe(3);
    expect(scrubDetails("short")).toBe("short");
  });
});

describe("scrubDetails with hostile key names", () => {
  it("keeps __proto__ and constructor as plain keys, redacting what they hold", () => {
    const hostile = JSON.parse('{"__proto__":{"access_token":"s1","ok":1},"constructor":"c"}');
    const out = scrubDetails(hostile) as Record<string, unknown>;
    expect(JSON.stringify(out)).toBe('{"__proto__":{"access_token":"[redacted]","ok":1},"constructor":"c"}');
    expect(Object.keys(out)).toEqual(["__proto__", "constructor"]); // own keys, not a prototype swap
  });
});

describe("scrubDetails: token shapes in every string (defence in depth, SECURITY #44)", () => {
  const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl";
  const TOKEN = "Q1xg7Kd0aZmP3vRt8sWq2NcYbE5uHiJo";

  it("cuts JWTs and token-shaped runs out of any value, also under kept keys, before truncating", () => {
    const out = scrubDetails({
      errorCode: `x ${TOKEN}`,
      note: `got ${JWT} back`,
      nested: { list: [`refresh_token=${TOKEN}`] },
      long: `${"y".repeat(495)} ${TOKEN}`,
    }) as Record<string, unknown>;
    const long = `${`${"y".repeat(495)} [redacted]`.slice(0, 500)}…`;
    expect(out).toEqual({
      errorCode: "x [redacted]",
      note: "got [redacted] back",
      nested: { list: ["[redacted]"] },
      long,
    });
    expect(JSON.stringify(out)).not.toMatch(/Q1xg7|eyJ/);
  });

  it("keeps what operators read: codes, AADSTS numbers, status, UUIDs, paths, cuids", () => {
    const details = {
      errorCode: "invalid_grant",
      errorCodes: [70008, 700082],
      status_code: 400,
      failureClass: "needs_reconsent",
      tenantId: "41463f53-8812-40f4-890f-865bf6e35190",
      path: "/api/v1/connections/cmi8x7q2h0000u4l8c9b0d2e1/token",
      consentRequestId: "cmi8x7q2h0000u4l8c9b0d2e1",
    };
    expect(scrubDetails(details)).toEqual(details);
  });
});
