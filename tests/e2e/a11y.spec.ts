// Every page of the portal, the public consent and connect pages and the 404, in English and
// Japanese, light and dark: axe (WCAG 2.0/2.1 A and AA) finds nothing serious or critical; no page is
// wider than the viewport at 1440 px or 390 px with the longest values the forms and the API accept
// (100-character unbroken names, 300-odd character e-mails, a 2048-character webhook URL and
// authorization URL, 512-character metadata values and client id); the Japanese pages show no word of
// an English message (text that bypassed the translations). A full-page screenshot of each page,
// language and theme at 1440 px (and 390 px for the main ones) is kept in tests/.tmp/screenshots/, and
// what was found, page by page, in tests/.tmp/a11y-report-<run>.jsonl.
// The pages do not depend on the database: this runs on the SQLite project only.
import fs from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { ROOT, TMP, cli, controlEmulator, emulatorState, serverFor, serverState, type Kind } from "./servers";

const LOCALES = ["en", "ja"] as const;
const THEMES = ["light", "dark"] as const;
const WIDE = { width: 1440, height: 900 };
const NARROW = { width: 390, height: 844 };
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const SHOTS = path.join(TMP, "screenshots");
// one line per page: what was found before the assertions (read it to see everything at once)
const REPORT = path.join(TMP, `a11y-report-${process.env.E2E_RUN_ID}.jsonl`);
const SEED_FILE = path.join(TMP, `a11y-seed-${process.env.E2E_RUN_ID}.json`);

// The longest values the forms and the API accept, unbroken where that is allowed.
const LONG_NAME = "Verylongunbrokenconnectionname".repeat(4).slice(0, 100);
const LONG_ORG = "Longorganizationnamewithoutanyspaces".repeat(3).slice(0, 100);
const LONG_EMAIL = `${"firstname.middlename.lastname".repeat(10).slice(0, 288)}@example-company.com`.slice(0, 312);
const LONG_VALUE = "x".repeat(512);
const LONG_CLIENT_ID = "client".repeat(100).slice(0, 512);

type Seeded = {
  slug: string;
  base: string;
  key: string;
  pending: string;
  active: string;
  revoked: string;
  appId: string;
  platformAppId: string;
  consentUrl: string;
  connectUrl: string;
  storage: string;
};
let seeded: Seeded;

type Violation = { page: string; combo: string; rule: string; impact: string; nodes: number; targets: string[] };
const found: Violation[] = [];
const overflows: Array<{ page: string; combo: string; width: number; scrollWidth: number; culprits: string[] }> = [];

async function api(base: string, key: string, p: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${p}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${p}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The result cookie a consent flow leaves, after the data owner approves (or refuses) at oidc-provider. */
async function consentOutcome(browser: Browser, baseURL: string, consentUrl: string): Promise<string> {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await page.goto(consentUrl);
  await page.locator('form[action$="/start"] button[type=submit]').click();
  await expect(page.getByTestId("consent-result")).toBeVisible();
  const cookie = (await context.cookies()).find((c) => c.name === "consentry-consent-result");
  await context.close();
  if (!cookie) throw new Error("no consent result cookie");
  return cookie.value;
}

function oidcSettings() {
  const op = emulatorState().oidc;
  return { authorization_url: op.authorizationUrl, token_url: op.tokenUrl, test_url: op.userinfoUrl };
}

/** A connection of the organization through the API. */
async function createConnection(body: Record<string, unknown>) {
  return (await api(seeded.base, seeded.key, "/api/v1/connections", {
    method: "POST",
    body: JSON.stringify(body),
  })) as { connection: { id: string }; consent_url: string };
}

/** An organization with a 100-character name and every long value, made once per run (a worker that
 * starts again after a failed test reads it back from the seed file). */
async function seed(browser: Browser, kind: Kind): Promise<Seeded> {
  const base = serverFor(kind).url;
  const op = emulatorState().oidc;
  const slug = `a11y-${Date.now().toString(36)}`;
  cli(kind, ["org", "create", "--name", LONG_ORG, "--slug", slug, "--owner", "admin@consentry.local"]);
  cli(kind, ["user", "invite", "--email", LONG_EMAIL, "--org", slug, "--role", "member"]);
  cli(kind, ["user", "invite", "--email", `z${LONG_EMAIL}`.slice(0, 312), "--org", slug, "--role", "admin"]);
  const key = cli(kind, [
    "api-key",
    "create",
    "--org",
    slug,
    "--scopes",
    "connections:read,connections:write",
    "--name",
    LONG_NAME,
  ]);
  seeded = { slug, base, key } as Seeded;
  const settings = oidcSettings();
  const metadata = {
    customer_id: LONG_VALUE,
    "tenant.reference-id_with.a.long.key.name.that.fills.64.chars": LONG_VALUE,
  };
  // first, so that the connections below leave deliveries in its log
  await api(base, key, "/api/v1/webhook-endpoints", {
    method: "POST",
    body: JSON.stringify({
      url: `http://127.0.0.1:9/hooks/${"segment".repeat(400)}`.slice(0, 2048),
      events: [
        "connection.connected",
        "connection.refresh_failed",
        "connection.needs_reconsent",
        "connection.recovered",
        "connection.refresh_token_expiring",
        "connection.revoked",
        "activity.content_available",
      ],
    }),
  });
  // the organization's own app for oidc-provider, made with the first connection
  const active = await createConnection({
    provider: "generic-oauth2",
    name: `${LONG_NAME.slice(0, 96)}-a1`,
    settings,
    scopes: ["openid", "offline_access"],
    metadata,
    oauth_app: { client_id: op.clientId, client_secret: op.clientSecret },
  });
  const apps = (await api(base, key, "/api/v1/oauth-apps")).data as Array<{ id: string; client_id: string }>;
  const appId = apps.find((a) => a.client_id === op.clientId)!.id;
  await consentOutcome(browser, base, active.consent_url);
  const revoked = await createConnection({
    provider: "generic-oauth2",
    name: `${LONG_NAME.slice(0, 96)}-r1`,
    settings,
    oauth_app_id: appId,
  });
  await api(base, key, `/api/v1/connections/${revoked.connection.id}`, { method: "DELETE" });
  // the longest of everything, waiting for consent: an app with a 512-character client id, a
  // 2048-character authorization URL, 200-character scopes, 512-character metadata values
  const pending = await createConnection({
    provider: "generic-oauth2",
    name: LONG_NAME,
    settings: {
      ...settings,
      authorization_url: `${op.authorizationUrl}?${"audience=".padEnd(2048 - op.authorizationUrl.length - 1, "a")}`,
    },
    scopes: ["openid", "offline_access", "s".repeat(200)],
    metadata,
    oauth_app: { client_id: LONG_CLIENT_ID, client_secret: "unused-secret" },
  });
  const session = (await api(base, key, "/api/v1/connect-sessions", {
    method: "POST",
    body: JSON.stringify({
      provider: "generic-oauth2",
      name: LONG_NAME,
      settings,
      scopes: ["openid", "offline_access"],
      metadata,
      oauth_app_id: appId,
      allowed_origins: ["https://app.example.com"],
      expires_in: 3600,
    }),
  })) as { connect_url: string };

  // the administrator's session, for every portal page
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto("/sign-in");
  await page.locator("#f-email").fill("admin@consentry.local");
  await page.locator("#f-password").fill(serverState(kind).adminPassword);
  await page.locator('form button[type="submit"]').click();
  await expect(page).toHaveURL(/\/orgs\//);
  const storage = path.join(TMP, `a11y-admin-${process.env.E2E_RUN_ID}.json`);
  await context.storageState({ path: storage });
  // a platform app with the longest name and client id, through the staff form
  await page.goto("/admin/apps/new");
  await page.locator("#f-name").fill(LONG_NAME);
  await page.locator("#f-providerId").selectOption("zoho-inventory");
  await page.locator("#f-clientId").fill(LONG_CLIENT_ID);
  await page.locator("#f-clientSecret").fill("platform-secret");
  await page.locator('main form button[type="submit"]').click();
  await expect(page).toHaveURL(/\/admin\/apps\/[0-9a-f-]{36}/);
  const platformAppId = new URL(page.url()).pathname.split("/").pop()!;
  await context.close();

  return {
    slug,
    base,
    key,
    pending: pending.connection.id,
    active: active.connection.id,
    revoked: revoked.connection.id,
    appId,
    platformAppId,
    consentUrl: pending.consent_url,
    connectUrl: session.connect_url,
    storage,
  };
}

test.beforeAll(async ({ browser }, info) => {
  test.skip(info.project.name !== "sqlite", "the pages are the same on both databases");
  test.setTimeout(180_000);
  fs.mkdirSync(SHOTS, { recursive: true });
  if (fs.existsSync(SEED_FILE)) seeded = JSON.parse(fs.readFileSync(SEED_FILE, "utf8")) as Seeded;
  else {
    seeded = await seed(browser, info.project.name as Kind);
    fs.writeFileSync(SEED_FILE, JSON.stringify(seeded));
  }
});

/** A fresh consent outcome's cookie (it lives 10 minutes): approved, or refused at the provider. */
async function resultCookie(browser: Browser, outcome: "connected" | "refused") {
  const c = await createConnection({
    provider: "generic-oauth2",
    name: `${LONG_NAME.slice(0, 96)}-${outcome === "connected" ? "c1" : "d1"}`,
    settings: oidcSettings(),
    scopes: ["openid"],
    oauth_app_id: seeded.appId,
  });
  if (outcome === "refused") await controlEmulator("/oidc/next-interaction", { deny: true });
  const value = await consentOutcome(browser, seeded.base, c.consent_url);
  return [{ name: "consentry-consent-result", value, path: "/consent/result" }];
}

type Visit = {
  name: string;
  /** no session (the public pages) */
  anonymous?: boolean;
  /** a 390 px screenshot too */
  key?: boolean;
  /** cookies to set first (made once for the page's four visits) */
  cookies?: (browser: Browser) => Promise<Cookie[]>;
  open: (page: Page) => Promise<void>;
};

const orgPath = (p = "") => `/orgs/${seeded.slug}${p}`;
const goto = (p: () => string) => async (page: Page) => void (await page.goto(p()));

type Cookie = { name: string; value: string; path: string };

async function contextFor(
  browser: Browser,
  visit: Visit,
  locale: string,
  theme: string,
  cookies: Cookie[],
): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL: seeded.base,
    viewport: WIDE,
    storageState: visit.anonymous ? undefined : seeded.storage,
  });
  const url = seeded.base;
  await context.addCookies([
    { name: "consentry-locale", value: locale, url },
    { name: "consentry-theme", value: theme, url },
    ...cookies.map((c) => ({ ...c, domain: new URL(url).hostname })),
  ]);
  return context;
}

/**
 * Elements reaching past the viewport's right edge that no scroll container clips (an absolutely
 * positioned element is clipped only by containers at or above its containing block), innermost
 * first: where an overflow comes from.
 */
async function overflowCulprits(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const w = window.innerWidth;
    const beyond = (el: Element) => {
      const r = el.getBoundingClientRect();
      if (r.right <= w + 0.5 || r.width === 0) return false;
      const positioned = ["absolute", "fixed"].includes(getComputedStyle(el).position);
      let p: Element | null = positioned ? (el as HTMLElement).offsetParent : el.parentElement;
      for (; p && p !== document.documentElement; p = p.parentElement)
        if (getComputedStyle(p).overflowX !== "visible" && p.getBoundingClientRect().right <= w + 0.5) return false;
      return true;
    };
    const all = Array.from(document.querySelectorAll("body *")).filter(beyond);
    return all
      .filter((el) => !all.some((o) => o !== el && el.contains(o)))
      .slice(0, 6)
      .map((el) => {
        const cls = typeof el.className === "string" ? el.className.split(/\s+/).slice(0, 5).join(".") : "";
        const text = (el.textContent ?? "").trim().slice(0, 30);
        return `${el.tagName.toLowerCase()}${cls ? `.${cls}` : ""} right=${Math.round(el.getBoundingClientRect().right)} "${text}"`;
      });
  });
}

async function checkWidth(page: Page, visit: Visit, combo: string) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  if (scrollWidth > innerWidth) {
    overflows.push({
      page: visit.name,
      combo,
      width: innerWidth,
      scrollWidth,
      culprits: await overflowCulprits(page),
    });
  }
}

/**
 * Words of the English messages whose Japanese differs (4+ letters; words that also occur in the
 * Japanese messages, such as product and brand names, left out): any of them on a Japanese page is
 * text that did not go through the translations.
 */
const ENGLISH_WORDS: Set<string> = (() => {
  const read = (l: string) =>
    JSON.parse(fs.readFileSync(path.join(ROOT, "lib", "i18n", "messages", `${l}.json`), "utf8")) as unknown;
  const leaves = (o: unknown, prefix = "", out = new Map<string, string>()) => {
    if (o && typeof o === "object")
      for (const [k, v] of Object.entries(o)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
    else if (typeof o === "string") out.set(prefix, o);
    return out;
  };
  const en = leaves(read("en"));
  const ja = leaves(read("ja"));
  const jaText = [...ja.values()].join(" ").toLowerCase();
  const words = new Set<string>();
  for (const [k, v] of en) {
    if (ja.get(k) === v) continue;
    for (const w of proseWords(v.replace(/\{[^{}]*\}/g, " "))) if (!jaText.includes(w)) words.add(w);
  }
  return words;
})();

/** Words of prose, lower-cased: tokens with digits or the punctuation of ids, URLs and e-mails left out. */
function proseWords(text: string): string[] {
  return text
    .split(/\s+/)
    .filter((t) => !/[0-9_./@:=\\-]/.test(t))
    .flatMap((t) => t.match(/[A-Za-z]{4,}/g) ?? [])
    .map((w) => w.toLowerCase());
}

/** The page's own words (not code, ids or data in monospace) that are English messages' words. */
async function englishOnPage(page: Page): Promise<string[]> {
  const text = await page.evaluate(() => {
    const skip = "code, pre, kbd, samp, script, style, .font-mono, [translate=no], select:not([name]) option";
    const parts: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || el.closest(skip)) continue;
      parts.push(n.textContent ?? "");
    }
    for (const el of Array.from(document.querySelectorAll("[placeholder], [aria-label], [title]")))
      for (const a of ["placeholder", "aria-label", "title"]) {
        const v = el.getAttribute(a)?.trim();
        // a title of one token is the raw code shown on hover (an action or detail key): not prose
        if (v && !(a === "title" && !/\s/.test(v))) parts.push(v);
      }
    return parts.join(" ");
  });
  return [...new Set(proseWords(text).filter((w) => ENGLISH_WORDS.has(w)))].map((w) => {
    const at = text.toLowerCase().indexOf(w);
    return `${w} («${text.slice(Math.max(0, at - 25), at + w.length + 25).replace(/\s+/g, " ")}»)`;
  });
}

async function tour(browser: Browser, visit: Visit) {
  const cookies = (await visit.cookies?.(browser)) ?? [];
  const english: string[] = [];
  for (const locale of LOCALES) {
    for (const theme of THEMES) {
      const combo = `${locale}/${theme}`;
      const context = await contextFor(browser, visit, locale, theme, cookies);
      const page = await context.newPage();
      try {
        await visit.open(page);
        await expect(page.locator("html")).toHaveAttribute("lang", locale);
        const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
        for (const v of results.violations) {
          if (v.impact !== "serious" && v.impact !== "critical") continue;
          found.push({
            page: visit.name,
            combo,
            rule: v.id,
            impact: v.impact,
            nodes: v.nodes.length,
            targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
          });
        }
        if (locale === "ja" && theme === "light") english.push(...(await englishOnPage(page)));
        await checkWidth(page, visit, `${combo}@1440`);
        await page.screenshot({ path: path.join(SHOTS, `${visit.name}.${locale}.${theme}.1440.png`), fullPage: true });
        await page.setViewportSize(NARROW);
        await checkWidth(page, visit, `${combo}@390`);
        if (visit.key)
          await page.screenshot({ path: path.join(SHOTS, `${visit.name}.${locale}.${theme}.390.png`), fullPage: true });
      } finally {
        await context.close();
      }
    }
  }
  const mine = found.filter((v) => v.page === visit.name);
  const wide = overflows.filter((o) => o.page === visit.name);
  fs.appendFileSync(
    REPORT,
    `${JSON.stringify({ page: visit.name, violations: mine, overflows: wide, english: [...new Set(english)] })}\n`,
  );
  expect.soft([...new Set(english)], "English words on the Japanese page").toEqual([]);
  expect
    .soft(
      mine.map((v) => `${v.combo} ${v.rule} (${v.impact}, ${v.nodes} nodes): ${v.targets.join(" | ")}`),
      "serious or critical axe violations",
    )
    .toEqual([]);
  expect
    .soft(
      wide.map((o) => `${o.combo}: ${o.scrollWidth} px wide; ${o.culprits.join(" | ")}`),
      "pages wider than the viewport",
    )
    .toEqual([]);
}

/** The wizard's "Next" (a button, not the submit) and its provider and app choices, in any language. */
const wizardNext = (page: Page) => page.locator("form.card button.btn-primary[type=button]");
async function wizardTo(page: Page, step: 1 | 2 | 3, refused = false) {
  await page.goto(orgPath("/connections/new"));
  if (step === 1) return;
  await page.locator('input[name="providerRadio"][value="generic-oauth2"]').check();
  await wizardNext(page).click();
  if (step === 2) {
    await page.locator('input[name="appRadio"]').last().check();
    return;
  }
  await page.locator('input[name="appRadio"]').first().check();
  await wizardNext(page).click();
  await expect(page.locator("#f-name")).toBeVisible();
  if (refused) {
    await page.locator("#f-name").fill(LONG_NAME);
    await page.locator('input[name="settings.authorization_url"]').fill("javascript:alert(1)");
    await page.locator('form.card button[type="submit"]').click();
    await expect(page.locator("form.card [role=alert]").first()).toBeVisible();
  }
}

const VISITS: Visit[] = [
  { name: "sign-in", anonymous: true, key: true, open: goto(() => "/sign-in") },
  { name: "organizations", open: goto(() => "/orgs") },
  { name: "overview", key: true, open: goto(() => orgPath()) },
  { name: "connections", key: true, open: goto(() => orgPath("/connections")) },
  {
    name: "connection-pending",
    key: true,
    open: async (page) => {
      await page.goto(orgPath(`/connections/${seeded.pending}`));
      // the edit panel open, and a fresh consent link shown
      await page.locator("details > summary").first().click();
      await page.getByTestId("edit-connection").waitFor();
    },
  },
  { name: "connection-active", open: goto(() => orgPath(`/connections/${seeded.active}`)) },
  { name: "connection-revoked", open: goto(() => orgPath(`/connections/${seeded.revoked}`)) },
  { name: "wizard-1-provider", key: true, open: (page) => wizardTo(page, 1) },
  { name: "wizard-2-app", open: (page) => wizardTo(page, 2) },
  { name: "wizard-3-settings", open: (page) => wizardTo(page, 3) },
  { name: "wizard-3-refused", open: (page) => wizardTo(page, 3, true) },
  { name: "import", open: goto(() => orgPath("/connections/import")) },
  { name: "apps", open: goto(() => orgPath("/apps")) },
  { name: "app", open: goto(() => orgPath(`/apps/${seeded.appId}`)) },
  { name: "app-new", open: goto(() => orgPath("/apps/new")) },
  { name: "api-keys", open: goto(() => orgPath("/api-keys")) },
  { name: "api-reference", open: goto(() => orgPath("/api")) },
  { name: "webhooks", key: true, open: goto(() => orgPath("/webhooks")) },
  { name: "audit", key: true, open: goto(() => orgPath("/audit")) },
  { name: "settings", key: true, open: goto(() => orgPath("/settings")) },
  { name: "admin-organizations", open: goto(() => "/admin/organizations") },
  { name: "admin-apps", open: goto(() => "/admin/apps") },
  { name: "admin-app", open: goto(() => `/admin/apps/${seeded.platformAppId}`) },
  { name: "admin-app-new", open: goto(() => "/admin/apps/new") },
  { name: "admin-audit", open: goto(() => "/admin/audit") },
  { name: "consent", anonymous: true, key: true, open: goto(() => new URL(seeded.consentUrl).pathname) },
  { name: "connect", anonymous: true, open: goto(() => new URL(seeded.connectUrl).pathname) },
  {
    name: "consent-result-connected",
    anonymous: true,
    key: true,
    cookies: (browser) => resultCookie(browser, "connected"),
    open: goto(() => "/consent/result"),
  },
  {
    name: "consent-result-failed",
    anonymous: true,
    cookies: (browser) => resultCookie(browser, "refused"),
    open: goto(() => "/consent/result"),
  },
  { name: "consent-result-none", anonymous: true, open: goto(() => "/consent/result") },
  { name: "not-found", anonymous: true, open: goto(() => "/no-such-page") },
  {
    name: "not-found-portal",
    open: goto(() => orgPath("/connections/00000000-0000-4000-8000-000000000000")),
  },
];

for (const visit of VISITS) {
  test(`${visit.name}: no serious axe findings, no overflow (en/ja, light/dark)`, async ({ browser }) => {
    test.setTimeout(120_000);
    await tour(browser, visit);
  });
}
