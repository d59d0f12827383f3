// The catalogue's `revocation` block (lib/providers/schema.ts): where the token goes is decided once
// (path or form parameter), a DELETE carries no form body, and the entries say what the providers'
// docs say (lib/connections/revoke-at-provider.ts reads nothing else).
import { describe, expect, it } from "vitest";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { renderTemplate } from "@/lib/providers/resolve-url";
import { ZRevocation } from "@/lib/providers/schema";

const base = { url: "https://as.example/revoke", tokenParam: "token", token: "refresh", clientAuth: "none" } as const;

describe("ZRevocation", () => {
  it("takes an RFC 7009 block and a token-in-path block", () => {
    expect(ZRevocation.parse(base)).toEqual({ ...base, method: "POST", tokenTypeHint: false });
    const inPath = { method: "DELETE", url: "https://as.example/tokens/{token}", token: "refresh", clientAuth: "none" };
    expect(ZRevocation.safeParse(inPath).success).toBe(true);
  });

  it.each([
    ["the token nowhere", { ...base, tokenParam: undefined }],
    ["the token in both places", { ...base, url: "https://as.example/revoke/{token}" }],
    [
      "a type hint without a form parameter",
      { ...base, tokenParam: undefined, url: "https://as/{token}", tokenTypeHint: true },
    ],
    ["a DELETE with a form parameter", { ...base, method: "DELETE" }],
    [
      "a DELETE with credentials in a body",
      { ...base, tokenParam: undefined, url: "https://as/{token}", method: "DELETE", clientAuth: "client_secret_post" },
    ],
    [
      "a DELETE whose client authentication may be a body",
      { ...base, tokenParam: undefined, url: "https://as/{token}", method: "DELETE", clientAuth: "provider" },
    ],
    ["a success status outside 2xx", { ...base, successStatuses: [404] }],
    ["an unknown client authentication", { ...base, clientAuth: "private_key_jwt" }],
  ])("refuses %s", (_what, block) => {
    expect(ZRevocation.safeParse(block).success).toBe(false);
  });
});

describe("catalogue entries", () => {
  it("HubSpot: DELETE with the refresh token in the path, no client authentication, 204", () => {
    const r = PROVIDERS.get("hubspot")!.revocation!;
    expect(r).toEqual({
      method: "DELETE",
      url: "{hosts.api}/oauth/v1/refresh-tokens/{token}",
      token: "refresh",
      tokenTypeHint: false,
      clientAuth: "none",
      successStatuses: [204],
    });
  });

  it("Zoho: POST token=<refresh token> at the accounts host, which the callback's accounts-server replaces", () => {
    const p = PROVIDERS.get("zoho-inventory")!;
    expect(p.revocation).toMatchObject({ method: "POST", tokenParam: "token", token: "refresh", clientAuth: "none" });
    const settings = { data_centre: "com" };
    expect(renderTemplate(p, p.revocation!.url, { settings })).toBe("https://accounts.zoho.com/oauth/v2/token/revoke");
    expect(
      renderTemplate(p, p.revocation!.url, { settings, hostOverrides: { accounts: "https://accounts.zoho.eu" } }),
    ).toBe("https://accounts.zoho.eu/oauth/v2/token/revoke");
  });

  it("generic: RFC 7009 at the revocation_url setting, with the connection's client authentication; none without it", () => {
    const p = PROVIDERS.get("generic-oauth2")!;
    expect(p.revocation).toEqual({
      method: "POST",
      url: "{settings.revocation_url}",
      tokenParam: "token",
      token: "refresh_or_access",
      tokenTypeHint: true,
      clientAuth: "provider",
    });
    const setting = p.settings.find((s) => s.key === "revocation_url");
    expect(setting).toMatchObject({ type: "url", required: false });
    expect(renderTemplate(p, p.revocation!.url, { settings: {} })).toBeNull();
  });

  it("Webex, Backlog and Microsoft document no revocation endpoint an app can call", () => {
    for (const id of ["webex", "backlog", "backlog-api-key", "microsoft-365-management"])
      expect(PROVIDERS.get(id)!.revocation, id).toBeUndefined();
  });
});
