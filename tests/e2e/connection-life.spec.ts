// A connection's life after consent, in Chromium against oidc-provider: edit (name and metadata keep
// the tokens; a URL that decides where secrets go asks for consent again, with a fresh link), a secret
// setting that is never shown back, disconnect → Reconnect with the same id, export as an encrypted
// file and import it (a wrong passphrase refused), and delete permanently.
import fs from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { emulatorState, type Kind } from "./servers";
import { ORG, createConnectionInWizard, expectSecretNotShown, signInAsAdmin, statusOf } from "./flows";

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

test("edit, secret setting, disconnect → Reconnect with the same id, export/import, delete permanently", async ({
  page,
}, info) => {
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
  await expect(detail(page, String.raw`API gateway headers \(secret\)`)).toHaveText("set (hidden)");
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

  // 5. export as an encrypted file, import it as a second connection: active at once, same provider
  const passphrase = "correct horse battery staple";
  await page.getByLabel("Passphrase", { exact: true }).fill(passphrase);
  await page.getByLabel("Passphrase again").fill(passphrase);
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export and download" }).click();
  const file = await (await download).path();
  const exported = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  expect(exported).toMatchObject({ format: "consentry-connection-export", version: 1, kdf: { name: "scrypt" } });
  expect(JSON.stringify(exported)).not.toContain(op.clientSecret);
  await page.goto(`/orgs/${ORG}/connections/import`);
  await page.getByLabel("Export file").setInputFiles(file);
  await page.getByLabel("Passphrase").fill("a wrong passphrase");
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: /passphrase is wrong/i })).toBeVisible();
  await page.getByLabel("Export file").setInputFiles(file);
  await page.getByLabel("Passphrase").fill(passphrase);
  // the demo organization holds several apps with the OP's client id (one per wizard run): name ours
  const ours = page.locator("#f-oauthAppId option", { hasText: name }).first();
  await page.locator("#f-oauthAppId").selectOption((await ours.getAttribute("value"))!);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page).toHaveURL(/\/connections\/[0-9a-f-]{36}$/);
  expect(new URL(page.url()).pathname).not.toBe(connectionPath);
  await expect(statusOf(page)).toHaveText("Active");
  await expect(page.getByTestId("metadata")).toContainText("c-42");
  await page.goto(connectionPath);

  // 6. delete permanently: a dismissed confirmation does nothing; an accepted one removes it
  page.once("dialog", (d) => void d.dismiss());
  await page.getByRole("button", { name: "Delete permanently" }).click();
  await expect(statusOf(page)).toHaveText("Active");
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Delete permanently" }).click();
  await expect(page).toHaveURL(/\/connections\?deleted=/);
  await expect(page.getByTestId("deleted-notice")).toContainText(`“${name} (renamed)” was deleted.`);
  // the imported copy (same name) stays; the original's row is gone
  await expect(page.locator(`a[href="${connectionPath}"]`)).toHaveCount(0);
  const gone = await page.goto(connectionPath);
  expect(gone?.status()).toBe(404);
});
