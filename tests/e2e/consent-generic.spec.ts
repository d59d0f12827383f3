// Seed 001 (trocco's generic OAuth 2.0 form) end to end in Chromium against a real authorization
// server (oidc-provider): the customer types their own app's client id and secret and the server's
// URLs in the wizard, connects in the same browser, and the connection is active.
import { expect, test } from "@playwright/test";
import { emulatorState, type Kind } from "./servers";
import { createConnectionInWizard, expectSecretNotShown, signInAsAdmin, statusOf } from "./flows";

test("generic OAuth 2.0 with the customer's own app: Connect now, approved, active", async ({ page }, info) => {
  const kind = info.project.name as Kind;
  const op = emulatorState().oidc;
  const baseURL = info.project.use.baseURL!;

  await signInAsAdmin(page, kind);
  const connectionPath = await createConnectionInWizard(page, {
    provider: /^Generic OAuth 2\.0/,
    app: { clientId: op.clientId, clientSecret: op.clientSecret },
    name: "Partner API",
    settings: async (p) => {
      await p.getByLabel("Authorization URL", { exact: true }).fill(op.authorizationUrl);
      await p.getByLabel("Access-token URL", { exact: true }).fill(op.tokenUrl);
      await p.getByLabel("Test URL (optional)", { exact: true }).fill(op.userinfoUrl);
      await expect(p.getByLabel("Client authentication")).toHaveValue("client_secret_post");
      await expect(p.getByLabel(/Use PKCE/)).toBeChecked();
      await p.getByLabel("Scopes", { exact: true }).fill("openid offline_access");
    },
  });
  // The secret typed in the wizard is stored, never shown.
  await expectSecretNotShown(page, op.clientSecret);
  // before consent there is nothing to test with: the button says so and cannot be pressed
  await expect(page.getByRole("button", { name: "Test connection" })).toBeDisabled();

  await page.getByRole("button", { name: "Connect now" }).click();
  // oidc-provider signs in and consents automatically, then redirects to Consentry's callback.
  await expect(page).toHaveURL(`${baseURL}/consent/result`);
  await expect(page.getByTestId("consent-result")).toHaveAttribute("data-outcome", "connected");
  // the data owner sees the authorization server by its host, not the catalogue's generic name
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Connected to ${new URL(op.authorizationUrl).host}`);
  await page.getByRole("link", { name: "Back to the connection" }).click();

  await expect(page).toHaveURL(new RegExp(`${connectionPath}$`));
  await expect(statusOf(page)).toHaveText("Active");
  await expect(
    page.locator("dt", { hasText: /^Granted scopes$/ }).locator("xpath=following-sibling::dd[1]"),
  ).toContainText("openid");

  // The stored token works at the server's userinfo endpoint.
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The provider accepted the token (HTTP 200" })).toBeVisible();
});
