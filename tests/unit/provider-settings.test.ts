// lib/providers/settings.ts: a connection's provider settings, validated against the catalogue's
// declarations (SECURITY.md #31: Backlog space pattern, Zoho data-centre allowlist; seed 001: the
// generic provider's URLs and extra authorization parameters).
import { describe, expect, it } from "vitest";
import en from "@/lib/i18n/messages/en.json";
import { AppError } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { customerUrls, parseProviderSettings } from "@/lib/providers/settings";
import type { TProvider } from "@/lib/providers/schema";

const GENERIC = PROVIDERS.get("generic-oauth2")!;
const BACKLOG = PROVIDERS.get("backlog")!;
const BACKLOG_KEY = PROVIDERS.get("backlog-api-key")!;
const ZOHO = PROVIDERS.get("zoho-inventory")!;
const AZURE = PROVIDERS.get("microsoft-365-management")!;
const WEBEX = PROVIDERS.get("webex")!;

const GENERIC_OK = {
  authorization_url: "https://app.hubspot.com/oauth/authorize",
  token_url: "https://api.hubapi.com/oauth/v1/token",
};

function validationError(p: TProvider, input: unknown): AppError {
  try {
    parseProviderSettings(p, input);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    const err = e as AppError;
    expect(err.code).toBe("validation");
    expect(err.status).toBe(422);
    expect(err.i18n?.key).toBe("errors.checkFields");
    return err;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}
const paths = (e: AppError) => (e.errors ?? []).map((x) => x.path);

function lookup(messages: unknown, key: string): unknown {
  return key
    .split(".")
    .reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), messages);
}

describe("generic-oauth2", () => {
  it("fills defaults: client_auth client_secret_post, use_pkce true", () => {
    expect(parseProviderSettings(GENERIC, GENERIC_OK)).toEqual({
      ...GENERIC_OK,
      client_auth: "client_secret_post",
      use_pkce: true,
    });
  });

  it("treats empty strings as absent and fills defaults for them", () => {
    expect(
      parseProviderSettings(GENERIC, { ...GENERIC_OK, refresh_url: "", test_url: "", client_auth: "", use_pkce: "" }),
    ).toEqual({ ...GENERIC_OK, client_auth: "client_secret_post", use_pkce: true });
  });

  it("requires authorization_url and token_url", () => {
    expect(paths(validationError(GENERIC, {})).sort()).toEqual(["settings.authorization_url", "settings.token_url"]);
    expect(paths(validationError(GENERIC, { authorization_url: GENERIC_OK.authorization_url }))).toEqual([
      "settings.token_url",
    ]);
    expect(paths(validationError(GENERIC, { token_url: GENERIC_OK.token_url }))).toEqual([
      "settings.authorization_url",
    ]);
    expect(paths(validationError(GENERIC, undefined)).sort()).toEqual([
      "settings.authorization_url",
      "settings.token_url",
    ]);
  });

  it.each([
    "not a url",
    "javascript:alert(1)",
    "ftp://files.example/token",
    "file:///etc/passwd",
    "data:text/html,x",
    "//api.example/token",
    "/oauth/token",
  ])("refuses token_url %j with a validation.url message", (url) => {
    const e = validationError(GENERIC, { ...GENERIC_OK, token_url: url });
    expect(e.errors).toEqual([{ path: "settings.token_url", message: "validation.url" }]);
  });

  it("refuses a URL over 2048 characters", () => {
    expect(
      paths(validationError(GENERIC, { ...GENERIC_OK, token_url: `https://a.example/${"x".repeat(2050)}` })),
    ).toEqual(["settings.token_url"]);
  });

  it("keeps every URL field to the same rules (refresh_url, test_url)", () => {
    expect(paths(validationError(GENERIC, { ...GENERIC_OK, refresh_url: "javascript:alert(1)" }))).toEqual([
      "settings.refresh_url",
    ]);
    expect(paths(validationError(GENERIC, { ...GENERIC_OK, test_url: "gopher://x.example" }))).toEqual([
      "settings.test_url",
    ]);
    expect(
      parseProviderSettings(GENERIC, { ...GENERIC_OK, refresh_url: "https://api.example/refresh" }).refresh_url,
    ).toBe("https://api.example/refresh");
  });

  it("trims URLs", () => {
    expect(
      parseProviderSettings(GENERIC, { ...GENERIC_OK, token_url: "  https://api.example/token  " }).token_url,
    ).toBe("https://api.example/token");
  });

  it("accepts client_secret_basic and refuses other client_auth values", () => {
    expect(parseProviderSettings(GENERIC, { ...GENERIC_OK, client_auth: "client_secret_basic" }).client_auth).toBe(
      "client_secret_basic",
    );
    for (const v of ["private_key_jwt", "none", "CLIENT_SECRET_POST"])
      expect(paths(validationError(GENERIC, { ...GENERIC_OK, client_auth: v }))).toEqual(["settings.client_auth"]);
  });

  it.each([
    [false, false],
    ["false", false],
    ["off", false],
    [true, true],
    ["true", true],
    ["on", true],
  ])("use_pkce %j → %j", (input, out) => {
    expect(parseProviderSettings(GENERIC, { ...GENERIC_OK, use_pkce: input }).use_pkce).toBe(out);
  });

  it("refuses a use_pkce that is not a boolean", () => {
    expect(paths(validationError(GENERIC, { ...GENERIC_OK, use_pkce: "maybe" }))).toEqual(["settings.use_pkce"]);
    expect(paths(validationError(GENERIC, { ...GENERIC_OK, use_pkce: 0 }))).toEqual(["settings.use_pkce"]);
  });

  it("accepts extra authorization parameters (seed 001)", () => {
    const params = { optional_scope: "crm.objects.contacts.read", "audience:x": "a.b-c", access_type: "offline" };
    expect(
      parseProviderSettings(GENERIC, { ...GENERIC_OK, authorization_params: params }).authorization_params,
    ).toEqual(params);
  });

  it.each([
    "redirect_uri",
    "state",
    "client_id",
    "response_type",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "client_secret",
  ])("refuses the reserved authorization parameter %s", (key) => {
    const e = validationError(GENERIC, {
      ...GENERIC_OK,
      authorization_params: { prompt: "consent", [key]: "https://evil.example/" },
    });
    expect(e.errors).toEqual([{ path: "settings.authorization_params", message: "validation.reservedParam" }]);
  });

  it("allows 20 parameters and refuses 21", () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, "v"]));
    expect(
      Object.keys(
        parseProviderSettings(GENERIC, { ...GENERIC_OK, authorization_params: many(20) })
          .authorization_params as object,
      ),
    ).toHaveLength(20);
    const e = validationError(GENERIC, { ...GENERIC_OK, authorization_params: many(21) });
    expect(e.errors).toEqual([{ path: "settings.authorization_params", message: "validation.tooManyParams" }]);
  });

  it.each(["has space", "a&b", "a=b", "", "x".repeat(65), "秘密", "a/b"])("refuses the parameter name %j", (name) => {
    const e = validationError(GENERIC, { ...GENERIC_OK, authorization_params: { [name]: "v" } });
    expect(paths(e).every((p) => p.startsWith("settings.authorization_params"))).toBe(true);
    expect(e.errors?.map((x) => x.message)).toContain("validation.paramName");
  });

  it("refuses a parameter value over 512 characters, and non-string values", () => {
    expect(paths(validationError(GENERIC, { ...GENERIC_OK, authorization_params: { a: "x".repeat(513) } }))[0]).toMatch(
      /^settings\.authorization_params/,
    );
    expect(paths(validationError(GENERIC, { ...GENERIC_OK, authorization_params: { a: 1 } }))[0]).toMatch(
      /^settings\.authorization_params/,
    );
    expect(paths(validationError(GENERIC, { ...GENERIC_OK, authorization_params: "a=b" }))).toEqual([
      "settings.authorization_params",
    ]);
  });

  it("refuses unknown setting keys (strict)", () => {
    const e = validationError(GENERIC, { ...GENERIC_OK, issuer_url: "https://x.example", client_secret: "s" });
    expect(e.errors).toHaveLength(1);
    expect(e.errors![0]!.path).toBe("settings");
    expect(validationError(GENERIC, { ...GENERIC_OK, __proto__x: 1 }).errors![0]!.path).toBe("settings");
  });

  it("refuses settings that are not an object", () => {
    expect(paths(validationError(GENERIC, "authorization_url=https://x"))).toEqual(["settings"]);
    expect(paths(validationError(GENERIC, [GENERIC_OK]))).toEqual(["settings"]);
  });

  it("lists the customer URLs to check against the egress policy", () => {
    const s = parseProviderSettings(GENERIC, { ...GENERIC_OK, refresh_url: "https://api.example/refresh" });
    expect(
      customerUrls(GENERIC, s)
        .map((u) => u.key)
        .sort(),
    ).toEqual(["authorization_url", "refresh_url", "token_url"]);
  });
});

describe("Backlog space", () => {
  it.each([
    "acme.backlog.jp",
    "acme.backlog.com",
    "acme.backlogtool.com",
    "acme-2.backlog.com",
    "ACME.Backlog.JP",
    " acme.backlog.jp ",
  ])("accepts %j", (space) => {
    for (const p of [BACKLOG, BACKLOG_KEY])
      expect(parseProviderSettings(p, { space })).toEqual({ space: space.trim().toLowerCase() });
  });

  it.each([
    "acme.backlog.com.evil.example",
    "evil.example",
    "acme.backlog.com/x",
    "acme.backlog.com:8443",
    "acme.backlog.com?x=1",
    "acme.backlog.com#x",
    "user@acme.backlog.com",
    "https://acme.backlog.com",
    "127.0.0.1",
    "localhost",
    "acme.backlog.com.",
    "acme.backlog.co",
    "acme.evilbacklog.com",
    "acme.backlogXcom",
    "a.b.backlog.com",
    ".backlog.com",
    "acme_x.backlog.com",
    "acme.backlog.com\nevil.example",
    "",
  ])("refuses %j", (space) => {
    for (const p of [BACKLOG, BACKLOG_KEY]) {
      const e = validationError(p, { space });
      expect(paths(e)).toEqual(["settings.space"]);
    }
  });

  it("is required", () => {
    expect(paths(validationError(BACKLOG, {}))).toEqual(["settings.space"]);
  });

  it("says validation.host for a space that does not match", () => {
    expect(validationError(BACKLOG, { space: "evil.example" }).errors).toEqual([
      { path: "settings.space", message: "validation.host" },
    ]);
  });
});

describe("Zoho", () => {
  it("defaults data_centre to com and requires organization_id", () => {
    expect(parseProviderSettings(ZOHO, { organization_id: "10234695" })).toEqual({
      data_centre: "com",
      organization_id: "10234695",
    });
    expect(paths(validationError(ZOHO, {}))).toEqual(["settings.organization_id"]);
  });

  it.each(["com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa", "uk"])("accepts the %s data centre", (dc) => {
    expect(parseProviderSettings(ZOHO, { data_centre: dc, organization_id: "1" }).data_centre).toBe(dc);
  });

  it.each([
    "com.evil",
    "com.evil.example",
    "evil.example",
    "EU",
    "de",
    "com/",
    "eu ",
    "zoho.com",
    "accounts.zoho.com.evil.example",
  ])("refuses the data centre %j", (dc) => {
    expect(paths(validationError(ZOHO, { data_centre: dc, organization_id: "1" }))).toEqual(["settings.data_centre"]);
  });

  it.each(["abc", "123abc", "-1", "1.5", "12 34", "1".repeat(21), "１２３"])("refuses organization_id %j", (id) => {
    const e = validationError(ZOHO, { organization_id: id });
    expect(e.errors).toEqual([{ path: "settings.organization_id", message: "validation.format" }]);
  });

  it("accepts up to 20 digits", () => {
    expect(parseProviderSettings(ZOHO, { organization_id: "9".repeat(20) }).organization_id).toBe("9".repeat(20));
  });
});

describe("providers with little or nothing to set", () => {
  it("Azure: consent_mode defaults to v1_code, v2_admin_consent allowed, anything else refused", () => {
    expect(parseProviderSettings(AZURE, {})).toEqual({ consent_mode: "v1_code" });
    expect(parseProviderSettings(AZURE, { consent_mode: "v2_admin_consent" })).toEqual({
      consent_mode: "v2_admin_consent",
    });
    expect(paths(validationError(AZURE, { consent_mode: "v3" }))).toEqual(["settings.consent_mode"]);
  });

  it("Webex: no settings at all; any key is refused", () => {
    expect(parseProviderSettings(WEBEX, {})).toEqual({});
    expect(parseProviderSettings(WEBEX, null)).toEqual({});
    expect(paths(validationError(WEBEX, { token_url: "https://evil.example/token" }))).toEqual(["settings"]);
  });
});

describe("messages", () => {
  it("every custom validation message used for settings is a translated key", () => {
    const produced = new Set<string>();
    const collect = (p: TProvider, input: unknown) => {
      try {
        parseProviderSettings(p, input);
      } catch (e) {
        for (const x of (e as AppError).errors ?? [])
          if (/^[a-z]+\.[A-Za-z]+$/.test(x.message)) produced.add(x.message);
      }
    };
    collect(GENERIC, { ...GENERIC_OK, token_url: "javascript:x" });
    collect(GENERIC, { ...GENERIC_OK, authorization_params: { state: "x" } });
    collect(GENERIC, {
      ...GENERIC_OK,
      authorization_params: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`p${i}`, "v"])),
    });
    collect(GENERIC, { ...GENERIC_OK, authorization_params: { "a b": "v" } });
    collect(BACKLOG, { space: "evil.example" });
    collect(ZOHO, { organization_id: "x" });
    expect([...produced].sort()).toEqual([
      "validation.format",
      "validation.host",
      "validation.paramName",
      "validation.reservedParam",
      "validation.tooManyParams",
      "validation.url",
    ]);
    for (const key of produced) expect(typeof lookup(en, key), key).toBe("string");
    expect(typeof lookup(en, "errors.checkFields")).toBe("string");
  });
});
