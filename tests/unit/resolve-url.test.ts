// lib/providers/resolve-url.ts: URL templates of every catalogue entry rendered with plausible
// settings, the tenant GUID rule (SECURITY.md #14: never `common` for app-only tokens), optional URLs,
// and installation host overrides (CONSENTRY_PROVIDER_HOSTS) read through env() in a fresh module graph.
import { afterEach, describe, expect, it, vi } from "vitest";
import { AppError } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { applyHostOverrides, providerUrl, renderTemplate, type TemplateContext } from "@/lib/providers/resolve-url";
import type { TProvider } from "@/lib/providers/schema";

const TID = "41463f53-8812-40f4-890f-865bf6e35190";
const get = (id: string): TProvider => PROVIDERS.get(id)!;

type Expected = {
  ctx: TemplateContext;
  authorizationUrl?: string | null;
  tokenUrl?: string | null;
  refreshUrl?: string | null;
  revocationUrl?: string | null;
  appOnlyTokenUrl?: string | null;
  adminConsentUrl?: string | null;
  testUrl?: string | null;
};

// One row per catalogue entry; a new provider fails the coverage test below until it is added here.
const EXPECTED: Record<string, Expected> = {
  "microsoft-365-management": {
    ctx: { settings: { consent_mode: "v1_code" }, tenant: TID },
    authorizationUrl: "https://login.windows.net/common/oauth2/authorize",
    tokenUrl: "https://login.windows.net/common/oauth2/token",
    refreshUrl: null,
    revocationUrl: null,
    appOnlyTokenUrl: `https://login.windows.net/${TID}/oauth2/token`,
    adminConsentUrl: "https://login.windows.net/common/adminconsent",
    testUrl: `https://manage.office.com/api/v1.0/${TID}/activity/feed/subscriptions/list`,
  },
  "generic-oauth2": {
    ctx: {
      settings: {
        authorization_url: "https://app.hubspot.com/oauth/authorize",
        token_url: "https://api.hubapi.com/oauth/v1/token",
        refresh_url: "https://api.hubapi.com/oauth/v1/refresh",
        test_url: "https://api.hubapi.com/account-info/v3/details",
        client_auth: "client_secret_post",
        use_pkce: true,
      },
    },
    authorizationUrl: "https://app.hubspot.com/oauth/authorize",
    tokenUrl: "https://api.hubapi.com/oauth/v1/token",
    refreshUrl: "https://api.hubapi.com/oauth/v1/refresh",
    revocationUrl: null,
    testUrl: "https://api.hubapi.com/account-info/v3/details",
  },
  webex: {
    ctx: {},
    authorizationUrl: "https://webexapis.com/v1/authorize",
    tokenUrl: "https://webexapis.com/v1/access_token",
    refreshUrl: null,
    testUrl: "https://webexapis.com/v1/people/me",
  },
  backlog: {
    ctx: { settings: { space: "acme.backlog.jp" } },
    authorizationUrl: "https://acme.backlog.jp/OAuth2AccessRequest.action",
    tokenUrl: "https://acme.backlog.jp/api/v2/oauth2/token",
    refreshUrl: null,
    testUrl: "https://acme.backlog.jp/api/v2/users/myself",
  },
  "backlog-api-key": {
    ctx: { settings: { space: "acme.backlogtool.com" } },
    authorizationUrl: null,
    tokenUrl: null,
    testUrl: "https://acme.backlogtool.com/api/v2/users/myself",
  },
  "zoho-inventory": {
    ctx: {
      settings: { data_centre: "eu", organization_id: "10234695" },
      metadata: { api_domain: "https://www.zohoapis.eu" },
    },
    authorizationUrl: "https://accounts.zoho.eu/oauth/v2/auth",
    tokenUrl: "https://accounts.zoho.eu/oauth/v2/token",
    revocationUrl: "https://accounts.zoho.eu/oauth/v2/token/revoke",
    refreshUrl: null,
    testUrl: "https://www.zohoapis.eu/inventory/v1/organizations",
  },
  hubspot: {
    ctx: {},
    authorizationUrl: "https://app.hubspot.com/oauth/authorize",
    tokenUrl: "https://api.hubapi.com/oauth/v1/token",
    refreshUrl: null,
    testUrl: "https://api.hubapi.com/account-info/v3/details",
  },
};

describe("renderTemplate for every catalogue entry", () => {
  it("covers every provider in the catalogue", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...PROVIDERS.keys()].sort());
  });

  for (const [id, exp] of Object.entries(EXPECTED)) {
    it(`${id}: renders its URLs`, () => {
      const p = get(id);
      const r = (t: string | undefined) => renderTemplate(p, t, exp.ctx);
      if ("authorizationUrl" in exp) expect(r(p.authorizationUrl)).toBe(exp.authorizationUrl);
      if ("tokenUrl" in exp) expect(r(p.tokenUrl)).toBe(exp.tokenUrl);
      if ("refreshUrl" in exp) expect(r(p.refreshUrl)).toBe(exp.refreshUrl);
      if ("revocationUrl" in exp) expect(r(p.revocation?.url)).toBe(exp.revocationUrl);
      if ("appOnlyTokenUrl" in exp) expect(r(p.appOnly?.tokenUrl)).toBe(exp.appOnlyTokenUrl);
      if ("adminConsentUrl" in exp) expect(r(p.adminConsent?.url)).toBe(exp.adminConsentUrl);
      if ("testUrl" in exp) expect(r(p.test?.url)).toBe(exp.testUrl);
      for (const u of [r(p.authorizationUrl), r(p.tokenUrl), r(p.refreshUrl), r(p.appOnly?.tokenUrl), r(p.test?.url)]) {
        if (u === null) continue;
        expect(new URL(u).protocol).toBe("https:");
        expect(u).not.toMatch(/[{}]/);
      }
    });
  }
});

describe("{tenant}", () => {
  const AZURE = get("microsoft-365-management");

  it("builds the app-only token URL from a GUID tenant (seed 000)", () => {
    expect(providerUrl(AZURE, AZURE.appOnly!.tokenUrl, { tenant: TID }, "app-only token URL")).toBe(
      `https://login.windows.net/${TID}/oauth2/token`,
    );
  });

  it("accepts an upper-case GUID", () => {
    expect(renderTemplate(AZURE, AZURE.appOnly!.tokenUrl, { tenant: TID.toUpperCase() })).toBe(
      `https://login.windows.net/${TID.toUpperCase()}/oauth2/token`,
    );
  });

  it.each([
    "common",
    "organizations",
    "consumers",
    "contoso.onmicrosoft.com",
    `${TID}/../evil`,
    `${TID}?x=1`,
    ` ${TID}`,
    `${TID}\n`,
    "../../evil.example",
    "41463f53881240f4890f865bf6e35190",
    `{${TID}}`,
  ])("refuses the tenant %j with an AppError", (tenant) => {
    let err: unknown;
    try {
      renderTemplate(AZURE, AZURE.appOnly!.tokenUrl, { tenant });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("bad-request");
    expect(() => providerUrl(AZURE, AZURE.appOnly!.tokenUrl, { tenant }, "token URL")).toThrow(AppError);
  });

  it("a missing tenant leaves the URL unbuilt: null, and providerUrl refuses", () => {
    expect(renderTemplate(AZURE, AZURE.appOnly!.tokenUrl, {})).toBeNull();
    expect(renderTemplate(AZURE, AZURE.appOnly!.tokenUrl, { tenant: null })).toBeNull();
    expect(renderTemplate(AZURE, AZURE.appOnly!.tokenUrl, { tenant: "" })).toBeNull();
    expect(() => providerUrl(AZURE, AZURE.appOnly!.tokenUrl, {}, "app-only token URL")).toThrow(AppError);
  });
});

describe("optional and missing values", () => {
  const GENERIC = get("generic-oauth2");
  const settings = { authorization_url: "https://a.example/authorize", token_url: "https://a.example/token" };

  it("a missing optional refresh_url renders as null", () => {
    expect(renderTemplate(GENERIC, GENERIC.refreshUrl, { settings })).toBeNull();
    expect(renderTemplate(GENERIC, GENERIC.refreshUrl, { settings: { ...settings, refresh_url: "" } })).toBeNull();
    expect(renderTemplate(GENERIC, GENERIC.refreshUrl, { settings: { ...settings, refresh_url: null } })).toBeNull();
  });

  it("a provider without a template renders null", () => {
    expect(renderTemplate(get("webex"), get("webex").refreshUrl, {})).toBeNull();
    expect(renderTemplate(get("webex"), undefined, {})).toBeNull();
  });

  it("a missing required setting renders null and providerUrl names what is missing", () => {
    const BACKLOG = get("backlog");
    expect(renderTemplate(BACKLOG, BACKLOG.tokenUrl, {})).toBeNull();
    expect(renderTemplate(BACKLOG, BACKLOG.tokenUrl, { settings: {} })).toBeNull();
    expect(() => providerUrl(BACKLOG, BACKLOG.tokenUrl, { settings: {} }, "token URL")).toThrow(/token URL of Backlog/);
  });

  it("a missing metadata value renders null (Zoho test URL before consent)", () => {
    const ZOHO = get("zoho-inventory");
    expect(renderTemplate(ZOHO, ZOHO.test!.url, { settings: { data_centre: "com" } })).toBeNull();
  });

  it("does not expand placeholders inside values a customer typed", () => {
    const out = renderTemplate(GENERIC, GENERIC.authorizationUrl, {
      settings: { authorization_url: "https://a.example/{tenant}/{hosts.login}/{settings.token_url}" },
      tenant: "common",
    });
    expect(out).toBe("https://a.example/{tenant}/{hosts.login}/{settings.token_url}");
  });

  it("Zoho: an allow-listed accounts-server from the callback replaces the data-centre host", () => {
    const ZOHO = get("zoho-inventory");
    const ctx = { settings: { data_centre: "com" }, hostOverrides: { accounts: "https://accounts.zoho.com.au" } };
    expect(renderTemplate(ZOHO, ZOHO.tokenUrl, ctx)).toBe("https://accounts.zoho.com.au/oauth/v2/token");
    // other hosts are unaffected
    expect(
      renderTemplate(ZOHO, ZOHO.test!.url, { ...ctx, metadata: { api_domain: "https://www.zohoapis.com.au" } }),
    ).toBe("https://www.zohoapis.com.au/inventory/v1/organizations");
  });

  it("the same data centre drives every Zoho URL", () => {
    const ZOHO = get("zoho-inventory");
    for (const dc of ZOHO.settings.find((s) => s.key === "data_centre")!.options!) {
      expect(renderTemplate(ZOHO, ZOHO.tokenUrl, { settings: { data_centre: dc } })).toBe(
        `https://accounts.zoho.${dc}/oauth/v2/token`,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// CONSENTRY_PROVIDER_HOSTS
// ---------------------------------------------------------------------------------------------

type ResolveModule = typeof import("@/lib/providers/resolve-url");

async function loadWithHosts(hosts: Record<string, string> | undefined): Promise<ResolveModule> {
  vi.resetModules();
  if (hosts) vi.stubEnv("CONSENTRY_PROVIDER_HOSTS", JSON.stringify(hosts));
  else vi.stubEnv("CONSENTRY_PROVIDER_HOSTS", "{}");
  const mod = await import("@/lib/providers/resolve-url");
  // env() parses once and caches: read it now, while the variable is set, in the same module graph.
  expect((await import("@/lib/env")).env().providerHosts).toEqual(hosts ?? {});
  vi.unstubAllEnvs();
  return mod;
}

describe("applyHostOverrides", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("without overrides returns the URL unchanged", async () => {
    const mod = await loadWithHosts(undefined);
    expect(mod.applyHostOverrides("https://login.windows.net/common/oauth2/token?x=1")).toBe(
      "https://login.windows.net/common/oauth2/token?x=1",
    );
    // the statically imported module sees the default configuration too
    expect(applyHostOverrides("https://webexapis.com/v1/access_token")).toBe("https://webexapis.com/v1/access_token");
  });

  it("rewrites the origin and keeps path, query and fragment", async () => {
    const mod = await loadWithHosts({ "https://login.windows.net": "http://127.0.0.1:9999" });
    expect(mod.applyHostOverrides("https://login.windows.net/common/oauth2/token")).toBe(
      "http://127.0.0.1:9999/common/oauth2/token",
    );
    expect(mod.applyHostOverrides(`https://login.windows.net/${TID}/oauth2/token?api-version=1.0&x=a%20b#frag`)).toBe(
      `http://127.0.0.1:9999/${TID}/oauth2/token?api-version=1.0&x=a%20b#frag`,
    );
    expect(mod.applyHostOverrides("https://login.windows.net:443/common/adminconsent")).toBe(
      "http://127.0.0.1:9999/common/adminconsent",
    );
    expect(mod.applyHostOverrides("https://LOGIN.windows.net/common/oauth2/authorize")).toBe(
      "http://127.0.0.1:9999/common/oauth2/authorize",
    );
  });

  it("matches whole origins only", async () => {
    const mod = await loadWithHosts({ "https://login.windows.net": "http://127.0.0.1:9999" });
    for (const url of [
      "https://login.windows.net.evil.example/common/oauth2/token",
      "https://evil.login.windows.net/common/oauth2/token",
      "http://login.windows.net/common/oauth2/token",
      "https://login.windows.net:8443/common/oauth2/token",
      "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    ]) {
      expect(mod.applyHostOverrides(url)).toBe(new URL(url).toString());
    }
  });

  it("providerUrl applies the override to a rendered catalogue URL", async () => {
    const mod = await loadWithHosts({
      "https://login.windows.net": "http://127.0.0.1:9999",
      "https://manage.office.com": "http://127.0.0.1:9998",
    });
    const AZURE = get("microsoft-365-management");
    expect(mod.providerUrl(AZURE, AZURE.tokenUrl, {}, "token URL")).toBe("http://127.0.0.1:9999/common/oauth2/token");
    expect(mod.providerUrl(AZURE, AZURE.appOnly!.tokenUrl, { tenant: TID }, "token URL")).toBe(
      `http://127.0.0.1:9999/${TID}/oauth2/token`,
    );
    expect(mod.providerUrl(AZURE, AZURE.test!.url, { tenant: TID }, "test URL")).toBe(
      `http://127.0.0.1:9998/api/v1.0/${TID}/activity/feed/subscriptions/list`,
    );
  });

  it("takes the override's port, including a default one", async () => {
    const mod = await loadWithHosts({
      "https://login.partner.example:8443": "https://login.other.example",
      "https://a.example": "https://b.example:4443",
    });
    expect(mod.applyHostOverrides("https://login.partner.example:8443/x?y=1")).toBe(
      "https://login.other.example/x?y=1",
    );
    expect(mod.applyHostOverrides("https://a.example/x")).toBe("https://b.example:4443/x");
  });

  it("an override target's path is ignored: only its origin is used", async () => {
    const mod = await loadWithHosts({ "https://webexapis.com": "https://emulator.example/prefix" });
    expect(mod.applyHostOverrides("https://webexapis.com/v1/access_token")).toBe(
      "https://emulator.example/v1/access_token",
    );
  });
});
