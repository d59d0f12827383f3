// lib/http/safe-return-to.ts: returnTo after sign-in must stay on this site (SECURITY.md #5: no open
// redirector). Everything that could leave the origin — directly, after the URL parser normalises
// it, or after one more round of percent-decoding by some layer — becomes "/".
import { describe, expect, it } from "vitest";
import { safeReturnTo } from "@/lib/http/safe-return-to";

describe("safeReturnTo", () => {
  it.each([
    "/orgs/demo?x=1#y",
    "/",
    "/orgs/demo",
    "/orgs/demo/connections/new?provider=zoho-inventory&step=2",
    "/orgs/demo/audit?action=member.&before=2024-05-01T00%3A00%3A00Z",
    "/consent/result#done",
    "/orgs/%E3%83%87%E3%83%A2",
  ])("keeps the same-site path %j", (v) => {
    expect(safeReturnTo(v)).toBe(v);
  });

  it("normalises harmless dot segments inside the site", () => {
    expect(safeReturnTo("/orgs/./demo/../demo")).toBe("/orgs/demo");
  });

  it.each([
    "https://evil.example",
    "https://evil.example/orgs/demo",
    "http://evil.example",
    "//evil.example",
    "//evil.example/orgs",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/%5Cevil",
    "/%5cevil.example",
    "/%5C%5Cevil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/..//evil.example",
    "/.//evil.example",
    "/orgs/..//evil.example",
    "/x/../..//evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "orgs/demo",
    "",
    " /orgs/demo",
    "/\tevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/orgs\u0000",
    "/orgs/demo\u001b",
    "/%",
    "/%E0%A4%A",
  ])("refuses %j", (v) => {
    expect(safeReturnTo(v)).toBe("/");
  });

  it.each([undefined, null, 42, {}, ["/orgs"], new URL("https://evil.example")])("refuses the non-string %j", (v) => {
    expect(safeReturnTo(v)).toBe("/");
  });

  it("refuses anything longer than 512 characters", () => {
    expect(safeReturnTo(`/${"a".repeat(511)}`)).toBe(`/${"a".repeat(511)}`);
    expect(safeReturnTo(`/${"a".repeat(512)}`)).toBe("/");
  });

  it("whatever it returns is a same-origin path when resolved by a browser", () => {
    const inputs = [
      "/orgs/demo?x=1#y",
      "/..//evil.example",
      "//evil.example",
      "/%5Cevil",
      "/\\evil.example",
      "https://evil.example",
      "/a/b/../../c",
    ];
    for (const v of inputs) {
      const out = safeReturnTo(v);
      expect(out.startsWith("/"), v).toBe(true);
      expect(out.startsWith("//"), v).toBe(false);
      expect(out).not.toMatch(/\\/);
      expect(new URL(out, "https://consentry.example").origin, v).toBe("https://consentry.example");
      // decoding once more must not change the destination either
      expect(new URL(decodeURIComponent(out), "https://consentry.example").origin, v).toBe("https://consentry.example");
    }
  });
});
