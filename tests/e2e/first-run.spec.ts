// A first-time operator: signs in with the printed password, sees the demo organization, creates
// an organization, switches to Japanese, signs out.
import { expect, test } from "@playwright/test";
import { serverState, type Kind } from "./servers";

test("first sign-in, dashboard, create an organization, Japanese, sign out", async ({ page }, info) => {
  const { adminPassword } = serverState(info.project.name as Kind);

  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(page.getByRole("heading", { name: "Sign in to Consentry" })).toBeVisible();

  // A wrong password is refused with a message a person can act on.
  await page.getByLabel("E-mail").fill("admin@consentry.local");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("main [role=alert]")).toContainText("do not match");

  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/orgs\/demo$/);
  await expect(page.getByRole("heading", { level: 1, name: "Demo Organization" })).toBeVisible();
  await expect(page.getByText("Getting started")).toBeVisible();

  // The sidebar, with exact names: it also has "Webhooks", and for staff "All organizations",
  // "Platform OAuth apps" and the installation audit log.
  const nav = page.getByRole("navigation", { name: "Main navigation" });
  await expect(nav.getByRole("link")).toContainText([
    "Overview",
    "Connections",
    "OAuth apps",
    "API keys",
    "Webhooks",
    "Audit log",
    "Settings",
    "All organizations",
    "Platform OAuth apps",
    "Installation audit log",
  ]);
  await nav.getByRole("link", { name: "Platform OAuth apps", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Platform OAuth apps" })).toBeVisible();

  // Staff create an organization; the staff link is named apart from the member's "Organizations".
  await expect(nav.getByRole("link", { name: "Organizations", exact: true })).toHaveCount(1);
  await nav.getByRole("link", { name: "All organizations", exact: true }).click();
  await expect(page.getByRole("heading", { name: "All organizations" })).toBeVisible();
  await page.getByLabel("Name").fill("Acme Corp");
  await expect(page.getByLabel("Address")).toHaveValue("acme-corp");
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(page).toHaveURL(/\/orgs\/acme-corp$/);
  await expect(page.getByRole("heading", { level: 1, name: "Acme Corp" })).toBeVisible();

  // Navigation reaches every section of the new organization, each with an empty state that says
  // what comes next. (Not the demo organization: the consent specs add connections there, in any order.)
  await nav.getByRole("link", { name: "Connections", exact: true }).click();
  await expect(page.getByRole("heading", { name: "No connections yet" })).toBeVisible();
  await nav.getByRole("link", { name: "Webhooks", exact: true }).click();
  await expect(page).toHaveURL(/\/orgs\/acme-corp\/webhooks$/);
  await nav.getByRole("link", { name: "Audit log", exact: true }).click();
  // a human action name, with the raw code on hover
  await expect(page.getByRole("cell", { name: "Organization created" })).toBeVisible();
  await expect(page.getByTitle("organization.created").first()).toBeVisible();

  // A taken address is refused with a clear message and nothing is created twice.
  await page.goto("/admin/organizations");
  await page.getByLabel("Name").fill("Acme again");
  await page.getByLabel("Address").fill("acme-corp");
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(page.locator("main [role=alert]").first()).toContainText('"acme-corp" is already used');
  await expect(page.getByRole("row", { name: /acme-corp/ })).toHaveCount(1);

  // Japanese from the switcher; the choice sticks across pages.
  await page.getByRole("combobox", { name: "Language" }).first().selectOption("ja");
  await expect(page.getByRole("heading", { name: "すべての組織" })).toBeVisible();
  await page.goto("/orgs/acme-corp/settings");
  await expect(page.getByRole("heading", { level: 1, name: "設定" })).toBeVisible();
  await page.getByRole("combobox", { name: "言語" }).first().selectOption("en");
  await expect(page.getByRole("heading", { level: 1, name: "Settings" })).toBeVisible();

  // Sign out ends the session: portal pages send you back to sign-in.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await page.goto("/orgs/demo");
  await expect(page).toHaveURL(/\/sign-in/);
});

test("the browser's language picks Japanese on the first visit", async ({ browser }, info) => {
  const context = await browser.newContext({ locale: "ja-JP", baseURL: info.project.use.baseURL });
  const page = await context.newPage();
  await page.goto("/sign-in");
  await expect(page.getByRole("heading", { name: "Consentry にサインイン" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "ja");
  await context.close();
});
