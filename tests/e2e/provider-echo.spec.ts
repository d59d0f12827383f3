// SECURITY.md #44 in the browser: an authorization server that echoes the request it received (its
// Basic or form credentials, the code, the PKCE verifier, the refresh token) into `error`, cut to 200
// characters — the shape that used to pass as an error code. A consent and a refresh are answered that
// way; then no secret of those requests may appear in the HTML of the consent result page, the
// connection page, the audit log or the OAuth app pages (operator alert included).
import { expect, test, type Page } from "@playwright/test";
import { controlEmulator, echoedRequests, emulatorState, type EchoedRequest, type Kind } from "./servers";
import { ORG, createConnectionInWizard, signInAsAdmin, statusOf } from "./flows";

const htmlEscape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#x27;");

/** The secret values an echoed request carried. */
function secretsOf(r: EchoedRequest): string[] {
  const fields = ["code", "code_verifier", "refresh_token", "client_secret", "client_assertion"].map((k) => r.form[k]);
  return [...fields, r.authorization?.replace(/^\S+\s+/, "")].filter((v): v is string => Boolean(v));
}

/** A secret as it could stand in markup: raw, URI- and form-encoded, JSON- and HTML-escaped, and its first 12 characters. */
function probesOf(secret: string): string[] {
  const form = new URLSearchParams({ v: secret }).toString().slice(2);
  const spellings = [
    secret,
    encodeURIComponent(secret),
    form,
    JSON.stringify(secret).slice(1, -1),
    secret.slice(0, 12),
  ];
  return [...new Set(spellings.flatMap((s) => [s, htmlEscape(s)]))];
}

async function html(page: Page, path: string): Promise<string> {
  await page.goto(path);
  return page.content();
}

test("a provider echoing the request: no secret on the result, connection, audit or OAuth app pages", async ({
  page,
}, info) => {
  const kind = info.project.name as Kind;
  const op = emulatorState().oidc;
  const baseURL = info.project.use.baseURL!;
  const pages: Record<string, string> = {};

  await signInAsAdmin(page, kind);
  const connectionPath = await createConnectionInWizard(page, {
    provider: /^Generic OAuth 2\.0/,
    app: { clientId: op.clientId, clientSecret: op.clientSecret },
    name: "Echoing partner",
    settings: async (p) => {
      await p.getByLabel("Authorization URL", { exact: true }).fill(op.authorizationUrl);
      await p.getByLabel("Access-token URL", { exact: true }).fill(op.tokenUrl);
      await p.getByLabel("Scopes", { exact: true }).fill("openid offline_access");
    },
  });
  const echoedBefore = (await echoedRequests("oidc")).length;

  // The code exchange (client secret, code, PKCE verifier) is answered with its own echo.
  await controlEmulator("/fault", { emulator: "oidc", echo: "error-cut" });
  await page.getByRole("button", { name: "Connect now" }).click();
  await expect(page).toHaveURL(`${baseURL}/consent/result`);
  await expect(page.getByTestId("consent-result")).toHaveAttribute("data-outcome", "failed");
  pages["consent result"] = await page.content();

  // Consent again, answered normally: the connection is active.
  await page.goto(connectionPath);
  await page.getByRole("button", { name: "Connect now" }).click();
  await expect(page.getByTestId("consent-result")).toHaveAttribute("data-outcome", "connected");
  await page.goto(connectionPath);
  await expect(statusOf(page)).toHaveText("Active");

  // A refresh (client secret, refresh token) answered invalid_client with the whole request echoed in
  // the description: the connection keeps its token, the OAuth app gets an operator alert.
  await controlEmulator("/fault", { emulator: "oidc", echo: "error_description", error: "invalid_client" });
  await page.getByRole("button", { name: "Refresh now" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The provider did not refresh the token" })).toBeVisible();
  pages["connection, refresh message"] = await page.content();
  pages.connection = await html(page, connectionPath);
  pages["audit log"] = await html(page, `/orgs/${ORG}/audit`);
  expect(pages["audit log"]).toContain("connection.refresh_failed");
  pages["OAuth apps"] = await html(page, `/orgs/${ORG}/apps`);
  const appLinks = await page
    .locator(`a[href^="/orgs/${ORG}/apps/"]:not([href$="/new"])`)
    .evaluateAll((as) => as.map((a) => a.getAttribute("href")!));
  for (const href of appLinks) pages[`OAuth app ${href}`] = await html(page, href);
  const alerted = Object.entries(pages).some(
    ([name, text]) => name.startsWith("OAuth app /") && text.includes("invalid_client"),
  );
  expect(alerted, "the operator alert is shown").toBe(true);

  const echoed = (await echoedRequests("oidc")).slice(echoedBefore);
  expect(
    echoed.map((r) => Object.keys(r.form).includes("code_verifier") || Object.keys(r.form).includes("refresh_token")),
  ).toEqual([true, true]);
  const canaries = [op.clientSecret, ...echoed.flatMap(secretsOf)];
  expect(canaries.length).toBeGreaterThanOrEqual(5);
  const leaks: string[] = [];
  for (const [name, text] of Object.entries(pages)) {
    for (const secret of canaries) {
      for (const p of probesOf(secret))
        if (text.includes(p)) leaks.push(`${secret.slice(0, 8)}… (as ${p.slice(0, 16)}…) on ${name}`);
    }
  }
  expect(leaks).toEqual([]);
});
