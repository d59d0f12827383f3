// A connection's life after consent, in Chromium against oidc-provider: edit (name and metadata keep
// the tokens; a URL that decides where secrets go asks for consent again, with a fresh link), a secret
// setting that is never shown back, disconnect → Reconnect with the same id, and delete permanently.
import { expect, test, type Page } from "@playwright/test";
import { emulatorState, type Kind } from "./servers";
import { createConnectionInWizard, expectSecretNotShown, signInAsAdmin, statusOf } from "./flows";

const detail = (page: Page, label: string) =>
  page.locator("dt", { hasText: new RegExp(`^${label}$`) }).locator("xpath=following-sibling::dd[1]");

async function openEdit(page: Page) {
  await page.getByText("Edit name, settings, scopes and metadata").click();
  return page.getByTestId("edit-connection");
}

async function connectNow(page: Page, connectionPath: string) {
  await page.getByRole("button", { name: "Connect now" }).click();
  await expect(page.getByTestId("consent-result")).toHaveAttribute("data-outcome", "connected");
  await page.getByRole("link", { name: "Back to the connection" }).click();
  await expect(page).toHaveURL(new RegExp(`${connectionPath}$`));
  await expect(statusOf(page)).toHaveText("Active");
}

test("edit, secret setting, disconnect → Reconnect with the same id, delete permanently", async ({ page }, info) => {
  const kind = info.project.name as Kind;
  const op = emulatorState().oidc;
  const name = `Life ${kind} ${Date.now().toString(36)}`;
  const gatewayKey = `gw-${Date.now().toString(36)}-secret-value`;

  await signInAsAdmin(page, kind);
  const connectionPath = await createConnectionInWizard(page, {
    provider: /^Generic OAuth 2\.0/,
    app: { clientId: op.clientId, clientSecret: op.clientSecret },
    name,
    settings: async (p) => {
      await p.getByLabel("Authorization URL", { exact: true }).fill(op.authorizationUrl);
      await p.getByLabel("Access-token URL", { exact: true }).fill(op.tokenUrl);
      await p.getByLabel("Test URL (optional)", { exact: true }).fill(op.userinfoUrl);
      await p.getByLabel("Scopes", { exact: true }).fill("openid offline_access");
    },
  });
  await connectNow(page, connectionPath);

  // 1. name, metadata and a secret header: saved, the tokens kept, the secret never shown again
  let form = await openEdit(page);
  await form.getByLabel("Name", { exact: true }).fill(`${name} (renamed)`);
  await form.getByLabel("Metadata (your own ids)").fill("customer_id=c-42\nplan=pro");
  await form.getByLabel(/^API gateway headers/).fill(`X-Api-Key=${gatewayKey}`);
  await form.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved. The connection keeps working." })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: `${name} (renamed)` })).toBeVisible();
  await expect(statusOf(page)).toHaveText("Active");
  await expect(page.getByTestId("metadata")).toContainText("customer_id");
  await expect(page.getByTestId("metadata")).toContainText("c-42");
  await expect(detail(page, "api_headers")).toHaveText("set (hidden)");
  form = await openEdit(page);
  await expect(form.getByLabel(/^API gateway headers/)).toHaveValue("");
  await expectSecretNotShown(page, gatewayKey);

  // 2. a refused submit keeps what was typed, with the error beside the field
  await form.getByLabel("Metadata (your own ids)").fill("Bad Key=x");
  await form.getByRole("button", { name: "Save changes" }).click();
  await expect(form.getByRole("alert").filter({ hasText: /Keys are 1–64 characters/ })).toBeVisible();
  await expect(form.getByLabel("Metadata (your own ids)")).toHaveValue("Bad Key=x");

  // 3. the token URL decides where the code and secret go: consent again, with a fresh link
  await form.getByLabel("Metadata (your own ids)").fill("customer_id=c-42\nplan=pro");
  await form.getByLabel(/^Access-token URL/).fill(`${op.tokenUrl}?edited=1`);
  await form.getByRole("button", { name: "Save changes" }).click();
  await expect(
    page.getByRole("status").filter({ hasText: "The tokens were deleted because of this change" }),
  ).toBeVisible();
  await expect(page.getByTestId("reconsent-link")).toHaveValue(/\/consent\/[A-Za-z0-9_-]{43}$/);
  await page.reload();
  await expect(statusOf(page)).toHaveText("Waiting for consent");
  await connectNow(page, connectionPath);

  // 4. disconnect: confirmed, says what happened at the provider; then Reconnect keeps the id
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Disconnect" }).click();
  await expect(
    page.getByRole("status").filter({ hasText: "this provider offers no way to revoke them" }),
  ).toBeVisible();
  await page.reload();
  await expect(statusOf(page)).toHaveText("Revoked");
  await expect(page.getByRole("heading", { name: "Reconnect" })).toBeVisible();
  await expect(page.getByTestId("reconnect-hint")).toContainText("Reconnect it with the same id");
  await connectNow(page, connectionPath);

  // 5. delete permanently: a dismissed confirmation does nothing; an accepted one removes it
  page.once("dialog", (d) => void d.dismiss());
  await page.getByRole("button", { name: "Delete permanently" }).click();
  await expect(statusOf(page)).toHaveText("Active");
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Delete permanently" }).click();
  await expect(page).toHaveURL(/\/connections\?deleted=/);
  await expect(page.getByTestId("deleted-notice")).toContainText(`“${name} (renamed)” was deleted.`);
  await expect(page.getByRole("link", { name: `${name} (renamed)` })).toHaveCount(0);
  const gone = await page.goto(connectionPath);
  expect(gone?.status()).toBe(404);
});
