// Seed 002's headless path in Chromium: a Webex integration registered with the redirect URI
// https://127.0.0.1/, which Consentry cannot receive. After approving, the browser lands on that
// address (nothing listens there: the route below stands in for the "can't be reached" page); the
// user copies it from the address bar into the portal, and the exchange completes like a callback.
import { expect, test } from "@playwright/test";
import { emulatorState, type Kind } from "./servers";
import { createConnectionInWizard, expectSecretNotShown, signInAsAdmin, statusOf } from "./flows";

test("Webex with a 127.0.0.1 redirect: paste the redirected address, connected, test request", async ({
  page,
}, info) => {
  const kind = info.project.name as Kind;
  const webex = emulatorState().webex;
  const baseURL = info.project.use.baseURL!;

  await signInAsAdmin(page, kind);
  const connectionPath = await createConnectionInWizard(page, {
    provider: /^Webex/,
    app: { clientId: webex.clientId, clientSecret: webex.clientSecret, redirectUri: webex.redirectUri },
    name: "Webex people directory",
    settings: async (p) => {
      await expect(p.getByLabel("Scopes", { exact: true })).toHaveValue("spark:people_read");
    },
  });
  await expectSecretNotShown(page, webex.clientSecret);
  await expect(page.getByRole("heading", { name: "Paste the redirected address" })).toBeVisible();
  await expect(page.getByText(`This app's redirect URI is ${webex.redirectUri}`)).toBeVisible();

  let redirected = "";
  await page.route("https://127.0.0.1/**", async (route) => {
    redirected = route.request().url();
    await route.fulfill({
      status: 200,
      contentType: "text/html; charset=utf-8",
      body: "<!doctype html><title>127.0.0.1</title><p>This site can’t be reached</p>",
    });
  });
  await page.getByRole("button", { name: "Connect now" }).click();
  await expect(page).toHaveURL(/^https:\/\/127\.0\.0\.1\/\?/);
  const landed = new URL(redirected);
  expect(landed.searchParams.get("code")).toBeTruthy();
  expect(landed.searchParams.get("state")).toBeTruthy();
  await page.unroute("https://127.0.0.1/**");

  await page.goto(connectionPath);
  await page.getByLabel("Redirected address or code").fill(redirected);
  await page.getByRole("button", { name: "Complete the connection" }).click();
  await expect(page).toHaveURL(`${baseURL}/consent/result`);
  await expect(page.getByTestId("consent-result")).toHaveAttribute("data-outcome", "connected");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Connected to Webex");
  await page.getByRole("link", { name: "Back to the connection" }).click();

  await expect(page).toHaveURL(new RegExp(`${connectionPath}$`));
  await expect(statusOf(page)).toHaveText("Active");

  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The provider accepted the token (HTTP 200" })).toBeVisible();
  await expect(page.getByTestId("test-summary")).toContainText(webex.displayName);
});
