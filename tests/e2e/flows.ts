// Steps the consent specs share: staff sign-in, and the new-connection wizard.
import { expect, type Page } from "@playwright/test";
import { serverState, type Kind } from "./servers";

export const ORG = "demo";
export const ORG_NAME = "Demo Organization";

/** The printed administrator (staff, owner of the demo organization). */
export async function signInAsAdmin(page: Page, kind: Kind) {
  await page.goto("/sign-in");
  await page.getByLabel("E-mail").fill("admin@consentry.local");
  await page.getByLabel("Password").fill(serverState(kind).adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(new RegExp(`/orgs/${ORG}$`));
}

export type WizardApp = { existing: RegExp } | { clientId: string; clientSecret: string; redirectUri?: string };

/**
 * Connections → "New connection" → provider → app → name and settings → "Save connection".
 * Returns the connection page's path.
 */
export async function createConnectionInWizard(
  page: Page,
  opts: { provider: RegExp; app: WizardApp; name: string; settings?: (page: Page) => Promise<void> },
): Promise<string> {
  await page
    .getByRole("navigation", { name: "Main navigation" })
    .getByRole("link", { name: "Connections", exact: true })
    .click();
  await page.getByRole("link", { name: "New connection" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "New connection" })).toBeVisible();
  const next = page.getByRole("button", { name: "Next", exact: true });

  await page.getByRole("radio", { name: opts.provider }).check();
  await next.click();

  if ("existing" in opts.app) {
    await page.getByRole("radio", { name: opts.app.existing }).check();
  } else {
    await page.getByRole("radio", { name: "Use our own app (enter its client id and secret)" }).check();
    await page.getByLabel("Client id", { exact: true }).fill(opts.app.clientId);
    await page.getByLabel("Client secret", { exact: true }).fill(opts.app.clientSecret);
    if (opts.app.redirectUri)
      await page.getByLabel(/^Redirect URI registered at the provider/).fill(opts.app.redirectUri);
  }
  await next.click();

  await page.getByLabel("Connection name").fill(opts.name);
  await opts.settings?.(page);
  await page.getByRole("button", { name: "Save connection" }).click();
  await expect(page).toHaveURL(new RegExp(`/orgs/${ORG}/connections/[0-9a-f-]{36}$`));
  await expect(page.getByRole("heading", { level: 1, name: opts.name })).toBeVisible();
  await expect(statusOf(page)).toHaveText("Waiting for consent");
  return new URL(page.url()).pathname;
}

/** The status badge in the connection page's details. */
export function statusOf(page: Page) {
  // the details card comes first; the activity timeline below may show a "status" detail too
  return page
    .locator("dt", { hasText: /^Status$/ })
    .first()
    .locator("xpath=following-sibling::dd[1]");
}

/** The connection page's "Create a consent link" → the link shown once. */
export async function createConsentLink(page: Page): Promise<string> {
  await page.getByRole("button", { name: "Create a consent link" }).click();
  const input = page.getByTestId("consent-link");
  await expect(input).toHaveValue(/\/consent\/[A-Za-z0-9_-]{20,}$/);
  return input.inputValue();
}

/** A write-only secret appears nowhere in the page: not as text, not in markup, not as a field's value. */
export async function expectSecretNotShown(page: Page, secret: string) {
  const html = await page.content();
  const escaped = secret.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  expect(html.includes(secret) || html.includes(escaped), "secret in the page's markup").toBe(false);
  const values = await page
    .locator("input, textarea")
    .evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
  expect(values, "secret in a form field").not.toContain(secret);
}
