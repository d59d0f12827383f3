// The OAuth app form's redirect URI (the headless paste path): https, or http on a loopback address;
// nothing a browser would run or a provider would refuse (RFC 6749 §3.1.2, RFC 8252 §7.3).
import { describe, expect, it } from "vitest";
import { ZOAuthAppInput } from "@/lib/oauth-apps/schemas";
import { providerDisplayName } from "@/lib/providers/catalogue";

const app = (redirectUri: string) =>
  ZOAuthAppInput.safeParse({ providerId: "webex", name: "x", clientId: "c", redirectUri });

describe("an OAuth app's redirect URI", () => {
  it("accepts https anywhere and http on loopback", () => {
    for (const u of [
      "https://127.0.0.1/",
      "https://app.example.com/cb?x=1",
      "http://127.0.0.1:8080/cb",
      "http://localhost/",
      "http://[::1]/cb",
    ])
      expect(app(u).success, u).toBe(true);
  });
  it("refuses other schemes, plain http elsewhere, fragments and credentials", () => {
    for (const u of [
      "javascript:alert(1)",
      "ftp://x/",
      "data:text/html,x",
      "http://app.example.com/cb",
      "https://x.example/#frag",
      "https://u:p@x.example/",
      "file:///etc/passwd",
    ]) {
      const r = app(u);
      expect(r.success, u).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(["redirectUri"]);
    }
  });
});

describe("the provider's name shown to the data owner", () => {
  it("is the authorization server's host for the generic provider, the catalogue's name otherwise", () => {
    expect(
      providerDisplayName("generic-oauth2", { authorization_url: "https://login.partner.example/oauth/authorize" }),
    ).toBe("login.partner.example");
    expect(providerDisplayName("generic-oauth2", {})).toBe("Generic OAuth 2.0 (your own app)");
    expect(providerDisplayName("webex", { authorization_url: "https://evil.example" })).toBe("Webex");
    expect(providerDisplayName("nope")).toBe("nope");
  });
});
