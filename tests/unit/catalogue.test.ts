// lib/providers/catalogue.ts sanity: every entry parses, ids are unique, every OAuth entry renders
// https authorization and token URLs from plausible settings, templates only use placeholders that
// exist, settings that decide where secrets go force re-consent (SECURITY.md #34), allow-lists are
// anchored (#31), and every setting, option and provider has English and Japanese texts.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import en from "@/lib/i18n/messages/en.json";
import ja from "@/lib/i18n/messages/ja.json";
import { PROVIDERS, listProviders } from "@/lib/providers/catalogue";
import { renderTemplate } from "@/lib/providers/resolve-url";
import { ZProvider, type TProvider } from "@/lib/providers/schema";
import { parseProviderSettings } from "@/lib/providers/settings";
import { REPO_ROOT } from "../helpers/paths";

const TID = "41463f53-8812-40f4-890f-865bf6e35190";
const LOCALES = { en, ja } as const;
/** Plausible token-response metadata, checked against each provider's allow pattern below. */
const SAMPLE_METADATA: Record<string, string> = { api_domain: "https://www.zohoapis.com" };

function lookup(messages: unknown, key: string): unknown {
  return key
    .split(".")
    .reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), messages);
}

/** Values a person could plausibly enter, derived from the declarations (examples, defaults). */
function plausibleSettings(p: TProvider): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of p.settings) {
    if (s.example !== undefined) out[s.key] = s.example;
    else if (s.default !== undefined) out[s.key] = s.default;
    else if (s.type === "url") out[s.key] = `https://provider.example/${s.key}`;
    else if (s.type === "enum") out[s.key] = s.options![0];
    else if (s.type === "key_values") out[s.key] = { extra: "1" };
    else if (s.type === "boolean") out[s.key] = true;
  }
  return out;
}

/** Every URL template of an entry, with what it is for. */
function templates(p: TProvider): Array<{ what: string; template: string; carriesSecrets: boolean }> {
  const t: Array<{ what: string; template: string | undefined; carriesSecrets: boolean }> = [
    { what: "authorizationUrl", template: p.authorizationUrl, carriesSecrets: true },
    { what: "tokenUrl", template: p.tokenUrl, carriesSecrets: true },
    { what: "refreshUrl", template: p.refreshUrl, carriesSecrets: true },
    // {token} (the token in the path) is filled in by lib/connections/revoke-at-provider.ts, not by renderTemplate
    { what: "revocation.url", template: p.revocation?.url.replaceAll("{token}", "token"), carriesSecrets: true },
    { what: "appOnly.tokenUrl", template: p.appOnly?.tokenUrl, carriesSecrets: true },
    { what: "adminConsent.url", template: p.adminConsent?.url, carriesSecrets: true },
    { what: "test.url", template: p.test?.url, carriesSecrets: false },
  ];
  return t.filter((x): x is { what: string; template: string; carriesSecrets: boolean } => Boolean(x.template));
}

const placeholders = (template: string) => [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);

const providers = listProviders();

describe("catalogue structure", () => {
  it("has providers, and listProviders matches PROVIDERS", () => {
    expect(providers.length).toBeGreaterThanOrEqual(7);
    expect(providers.map((p) => p.id)).toEqual([...PROVIDERS.keys()]);
  });

  it("every entry is a valid, already-parsed provider", () => {
    for (const p of providers) expect(ZProvider.safeParse(p).success, p.id).toBe(true);
  });

  it("ids are unique (the source declares exactly as many entries as the map holds)", () => {
    // A duplicate id would silently replace an entry in the Map, so count the declarations.
    const source = fs.readFileSync(path.join(REPO_ROOT, "lib/providers/catalogue.ts"), "utf8");
    const declared = [...source.matchAll(/^\s*id:\s*"([^"]+)"/gm)].map((m) => m[1]);
    expect(declared.length).toBeGreaterThan(0);
    expect(new Set(declared).size).toBe(declared.length);
    expect([...declared].sort()).toEqual([...PROVIDERS.keys()].sort());
  });

  it("includes the seed providers", () => {
    for (const id of ["microsoft-365-management", "generic-oauth2", "webex", "backlog", "zoho-inventory"])
      expect(PROVIDERS.has(id), id).toBe(true);
  });

  it("setting keys are unique per provider, and enum defaults are options", () => {
    for (const p of providers) {
      const keys = p.settings.map((s) => s.key);
      expect(new Set(keys).size, p.id).toBe(keys.length);
      for (const s of p.settings) {
        if (s.type === "enum") {
          expect(s.options?.length, `${p.id}.${s.key}`).toBeGreaterThan(0);
          if (s.default !== undefined) expect(s.options, `${p.id}.${s.key}`).toContain(s.default);
        }
        if (s.type === "boolean" && s.default !== undefined) expect(typeof s.default).toBe("boolean");
      }
    }
  });

  it("required settings show an example (the wizard uses it as placeholder)", () => {
    for (const p of providers)
      for (const s of p.settings)
        if (s.required && s.default === undefined) expect(s.example, `${p.id}.${s.key}`).toBeTruthy();
  });

  it("flags refer to settings of the right type", () => {
    for (const p of providers) {
      const byKey = new Map(p.settings.map((s) => [s.key, s]));
      if (p.authorizationParamsSetting) expect(byKey.get(p.authorizationParamsSetting)?.type, p.id).toBe("key_values");
      if (p.pkceSetting) expect(byKey.get(p.pkceSetting)?.type, p.id).toBe("boolean");
      if (p.adminConsent) {
        const s = byKey.get(p.adminConsent.setting);
        expect(s?.type, p.id).toBe("enum");
        expect(s?.options, p.id).toContain(p.adminConsent.value);
      }
      if (p.callbackHostParam) expect(Object.keys(p.hosts), p.id).toContain(p.callbackHostParam.host);
    }
  });

  it("every oauth2 entry has authorization and token URLs; api_key entries say how the key is sent", () => {
    for (const p of providers) {
      if (p.authKind === "oauth2") {
        expect(p.authorizationUrl, p.id).toBeTruthy();
        expect(p.tokenUrl, p.id).toBeTruthy();
      } else {
        expect(Boolean(p.apiAuth.header || p.apiAuth.queryParam), p.id).toBe(true);
      }
    }
  });

  it("every expiry has a finite default lifetime (never 'forever')", () => {
    for (const p of providers) {
      expect(Number.isInteger(p.expiry.defaultLifetimeSeconds), p.id).toBe(true);
      expect(p.expiry.defaultLifetimeSeconds, p.id).toBeGreaterThan(0);
      expect(p.expiry.defaultLifetimeSeconds, p.id).toBeLessThanOrEqual(90 * 86400);
    }
  });

  it("documentation links are https", () => {
    for (const p of providers) if (p.docsUrl) expect(new URL(p.docsUrl).protocol, p.id).toBe("https:");
  });
});

describe("templates", () => {
  it("use only placeholders that exist for the entry", () => {
    for (const p of providers) {
      const settingKeys = new Set(p.settings.map((s) => s.key));
      const metadataFields = new Set(p.tokenResponseMetadata.map((m) => m.field));
      const check = (where: string, template: string, allowHosts: boolean) => {
        for (const ph of placeholders(template)) {
          const [scope, key, ...rest] = ph.split(".");
          expect(rest, `${p.id} ${where}: {${ph}}`).toEqual([]);
          if (scope === "tenant") expect(key, `${p.id} ${where}`).toBeUndefined();
          else if (scope === "hosts") {
            expect(allowHosts, `${p.id} ${where}: a host template cannot use {hosts.*}`).toBe(true);
            expect(Object.keys(p.hosts), `${p.id} ${where}`).toContain(key);
          } else if (scope === "settings") expect(settingKeys.has(key!), `${p.id} ${where}: {${ph}}`).toBe(true);
          else if (scope === "metadata") expect(metadataFields.has(key!), `${p.id} ${where}: {${ph}}`).toBe(true);
          else throw new Error(`${p.id} ${where}: unknown placeholder {${ph}}`);
        }
      };
      for (const [k, v] of Object.entries(p.hosts)) check(`hosts.${k}`, v, false);
      for (const t of templates(p)) check(t.what, t.template, true);
    }
  });

  it("oauth2 URLs render to https URLs with plausible settings (which themselves validate)", () => {
    let rendered = 0;
    for (const p of providers) {
      const settings = parseProviderSettings(p, plausibleSettings(p));
      const metadata = Object.fromEntries(p.tokenResponseMetadata.map((m) => [m.field, SAMPLE_METADATA[m.field]]));
      for (const m of p.tokenResponseMetadata)
        expect(new RegExp(m.allow).test(SAMPLE_METADATA[m.field] ?? ""), `${p.id} sample ${m.field}`).toBe(true);
      for (const t of templates(p)) {
        const url = renderTemplate(p, t.template, { settings, tenant: TID, metadata });
        if (url === null) {
          // only optional settings may leave a URL unbuilt (e.g. the generic refresh URL)
          expect(["refreshUrl", "test.url"], `${p.id} ${t.what} did not render`).toContain(t.what);
          continue;
        }
        const u = new URL(url);
        expect(u.protocol, `${p.id} ${t.what}: ${url}`).toBe("https:");
        expect(u.username + u.password, `${p.id} ${t.what}`).toBe("");
        expect(url, `${p.id} ${t.what}`).not.toMatch(/[{}]/);
        rendered++;
      }
      if (p.authKind === "oauth2") {
        expect(renderTemplate(p, p.authorizationUrl, { settings, tenant: TID })).toMatch(/^https:\/\//);
        expect(renderTemplate(p, p.tokenUrl, { settings, tenant: TID })).toMatch(/^https:\/\//);
      }
    }
    expect(rendered).toBeGreaterThanOrEqual(15);
  });

  it("every setting that decides where secrets are sent forces re-consent when changed (SECURITY #34)", () => {
    for (const p of providers) {
      const secretTemplates = [
        ...templates(p)
          .filter((t) => t.carriesSecrets)
          .map((t) => t.template),
      ];
      // a host used by a secret-carrying template carries secrets too
      for (const t of [...secretTemplates])
        for (const ph of placeholders(t)) if (ph.startsWith("hosts.")) secretTemplates.push(p.hosts[ph.slice(6)]!);
      // api_key providers send the key to their test URL and hosts
      if (p.authKind === "api_key") secretTemplates.push(...Object.values(p.hosts), ...(p.test ? [p.test.url] : []));
      for (const t of secretTemplates) {
        for (const ph of placeholders(t)) {
          if (!ph.startsWith("settings.")) continue;
          const s = p.settings.find((x) => x.key === ph.slice(9));
          expect(s?.reconsentOnChange, `${p.id}: {${ph}} in ${t}`).toBe(true);
        }
      }
    }
  });

  it("allow patterns and setting patterns are anchored and compile", () => {
    const anchored = (re: string, what: string) => {
      expect(re.startsWith("^"), what).toBe(true);
      expect(re.endsWith("$"), what).toBe(true);
      expect(() => new RegExp(re), what).not.toThrow();
    };
    for (const p of providers) {
      if (p.callbackHostParam) anchored(p.callbackHostParam.allow, `${p.id} callbackHostParam`);
      for (const m of p.tokenResponseMetadata) anchored(m.allow, `${p.id} ${m.field}`);
      for (const s of p.settings) if (s.pattern) anchored(s.pattern, `${p.id}.${s.key}`);
    }
  });

  it("Zoho's accounts-server allow-list admits the data centres and nothing else (SECURITY #31)", () => {
    const zoho = PROVIDERS.get("zoho-inventory")!;
    const allow = new RegExp(zoho.callbackHostParam!.allow);
    for (const dc of zoho.settings.find((s) => s.key === "data_centre")!.options!)
      expect(allow.test(`https://accounts.zoho.${dc}`), dc).toBe(true);
    for (const bad of [
      "https://accounts.zoho.com.evil.example",
      "https://accounts.zoho.com/",
      "http://accounts.zoho.com",
      "https://accounts.zoho.com@evil.example",
      "https://accounts.zohoXcom",
      "https://evil.example/https://accounts.zoho.com",
      "https://accounts.zoho.com\n",
      "https://accounts.zoho.de",
    ]) {
      expect(allow.test(bad), bad).toBe(false);
    }
  });

  it("the Backlog space pattern is the one SECURITY #31 prescribes", () => {
    for (const id of ["backlog", "backlog-api-key"]) {
      expect(PROVIDERS.get(id)!.settings.find((s) => s.key === "space")!.pattern).toBe(
        "^[a-z0-9-]+\\.(backlog\\.(com|jp)|backlogtool\\.com)$",
      );
    }
  });
});

describe("texts in every language", () => {
  const keysOf = (p: TProvider) => p.settings.map((s) => s.key);

  for (const [locale, messages] of Object.entries(LOCALES)) {
    it(`${locale}: every setting has a label and help`, () => {
      let checked = 0;
      for (const p of providers) {
        for (const key of keysOf(p)) {
          for (const part of ["label", "help"]) {
            const v = lookup(messages, `settingsFields.${key}.${part}`);
            expect(typeof v, `${locale} settingsFields.${key}.${part} (${p.id})`).toBe("string");
            expect((v as string).trim().length, `${locale} settingsFields.${key}.${part}`).toBeGreaterThan(0);
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThanOrEqual(20);
    });

    it(`${locale}: every enum option has a text (dots become underscores)`, () => {
      let checked = 0;
      for (const p of providers) {
        for (const s of p.settings) {
          if (s.type !== "enum") continue;
          for (const o of s.options ?? []) {
            const key = `settingsFields.${s.key}.options.${o.replace(/\./g, "_")}`;
            const v = lookup(messages, key);
            expect(typeof v, `${locale} ${key}`).toBe("string");
            expect((v as string).trim().length, `${locale} ${key}`).toBeGreaterThan(0);
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThanOrEqual(13);
    });

    it(`${locale}: every provider has a wizard blurb`, () => {
      for (const p of providers) {
        const v = lookup(messages, `wizard.providerBlurb.${p.id}`);
        expect(typeof v, `${locale} wizard.providerBlurb.${p.id}`).toBe("string");
        expect((v as string).trim().length, `${locale} wizard.providerBlurb.${p.id}`).toBeGreaterThan(0);
      }
    });
  }
});
