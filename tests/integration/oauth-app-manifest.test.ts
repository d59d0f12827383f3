// What an OAuth app's page asks to set in the Azure app registration: the certificate's keyCredentials
// and, for every Microsoft app (certificate or secret), the app instance property lock
// (servicePrincipalLockConfiguration), explained in English and Japanese. Apps of providers whose
// credentials never act in a customer's directory get no lock section.
import { createElement, type ComponentProps } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { NextIntlClientProvider } from "next-intl";
import { expect, it, vi } from "vitest";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import en from "@/lib/i18n/messages/en.json";
import ja from "@/lib/i18n/messages/ja.json";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { getOAuthApp, SERVICE_PRINCIPAL_LOCK } from "@/lib/oauth-apps/get-oauth-app";
import { OAuthAppDetails } from "@/app/_components/oauth-app-details";

const MESSAGES = { en, ja };
const locale = vi.hoisted(() => ({ current: "en" as "en" | "ja" }));

// The component's server-side translator outside Next: the catalogue through use-intl (what next-intl wraps).
vi.mock("next-intl/server", async () => {
  const { createFormatter, createTranslator } = await import("use-intl");
  const messages = {
    en: (await import("@/lib/i18n/messages/en.json")).default,
    ja: (await import("@/lib/i18n/messages/ja.json")).default,
  };
  return {
    getTranslations: async (namespace?: string) =>
      createTranslator({ locale: locale.current, messages: messages[locale.current], namespace: namespace as never }),
    getFormatter: async () => createFormatter({ locale: locale.current, timeZone: "UTC" }),
  };
});

const actor = { type: "system", label: "manifest test" } as const;
const LOCK = {
  servicePrincipalLockConfiguration: {
    isEnabled: true,
    allProperties: true,
    credentialsWithUsageVerify: true,
    credentialsWithUsageSign: true,
    identifierUris: false,
    tokenEncryptionKeyId: true,
  },
};

type App = NonNullable<Awaited<ReturnType<typeof getOAuthApp>>>;

async function render(app: App, lang: "en" | "ja") {
  locale.current = lang;
  const details = await OAuthAppDetails({ app, redirectUri: "http://localhost:3000/api/oauth/callback/x" });
  // the copy buttons are client components translated by next-intl's provider (children come as the third argument)
  const intl = { locale: lang, messages: MESSAGES[lang], timeZone: "UTC" } as unknown as ComponentProps<
    typeof NextIntlClientProvider
  >;
  return renderToStaticMarkup(createElement(NextIntlClientProvider, intl, details));
}

/** The JSON in the page's lock section (as rendered, HTML entities decoded). */
function lockJsonIn(html: string): unknown {
  const m = /<pre[^>]*data-testid="service-principal-lock"[^>]*>([\s\S]*?)<\/pre>/.exec(html);
  if (!m) return undefined;
  return JSON.parse(m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
}

describeEachDb("OAuth app manifest helper", (getDb) => {
  it("a Microsoft app with a certificate: keyCredentials and the app instance property lock, both copyable, in English and Japanese", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const { id } = await saveOAuthApp({
      db,
      organizationId: org.id,
      input: {
        providerId: "microsoft-365-management",
        name: "Our Entra app",
        clientId: "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        generateCertificate: true,
      },
      actor,
    });
    const app = (await getOAuthApp({ db, appId: id, organizationId: org.id }))!;
    expect(JSON.parse(app.servicePrincipalLock!)).toEqual(LOCK);
    expect({ servicePrincipalLockConfiguration: SERVICE_PRINCIPAL_LOCK }).toEqual(LOCK);
    // the exact text pasted into the manifest: the property Microsoft's manifest and Graph use, two-space JSON
    expect(app.servicePrincipalLock).toBe(JSON.stringify(LOCK, null, 2));
    expect(JSON.parse(app.certificate!.manifest)).toMatchObject({ keyCredentials: [{ usage: "Verify" }] });

    const htmlEn = await render(app, "en");
    expect(lockJsonIn(htmlEn)).toEqual(LOCK);
    expect(htmlEn).toContain("Azure manifest: app instance property lock");
    expect(htmlEn).toContain("service principal");
    expect(htmlEn).toContain("on by default only for newly registered apps");
    expect(htmlEn).toContain("PATCH https://graph.microsoft.com/v1.0/applications/");
    expect(htmlEn).toContain('data-testid="manifest"'); // the keyCredentials card is still there
    // copy buttons: the redirect URI, keyCredentials and the lock
    expect(htmlEn.match(/<button/g)).toHaveLength(3);

    const htmlJa = await render(app, "ja");
    expect(lockJsonIn(htmlJa)).toEqual(LOCK);
    expect(htmlJa).toContain("アプリ インスタンス プロパティ ロック");
    expect(htmlJa).toContain("サービス プリンシパル");
    expect(htmlJa).toContain("既定で有効");
  });

  it("a Microsoft app with only a client secret still gets the lock (it protects every credential)", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const { id } = await saveOAuthApp({
      db,
      organizationId: org.id,
      input: {
        providerId: "microsoft-365-management",
        name: "Secret only",
        clientId: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
        clientSecret: "s3cr3t",
      },
      actor,
    });
    const app = (await getOAuthApp({ db, appId: id, organizationId: org.id }))!;
    expect(app.certificate).toBeNull();
    expect(JSON.parse(app.servicePrincipalLock!)).toEqual(LOCK);
    const html = await render(app, "en");
    expect(lockJsonIn(html)).toEqual(LOCK);
    expect(html).not.toContain('data-testid="manifest"');
    expect(html).not.toContain("s3cr3t");
  });

  it("an app of a provider without customer directories (Webex) has no lock section", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const { id } = await saveOAuthApp({
      db,
      organizationId: org.id,
      input: { providerId: "webex", name: "Webex", clientId: "C-webex", clientSecret: "x" },
      actor,
    });
    const app = (await getOAuthApp({ db, appId: id, organizationId: org.id }))!;
    expect(app.servicePrincipalLock).toBeNull();
    const html = await render(app, "en");
    expect(lockJsonIn(html)).toBeUndefined();
    expect(html).not.toContain("servicePrincipalLockConfiguration");
  });
});
