// Seed 000 end to end in Chromium: a staff user registers the Microsoft app, creates a connection,
// and sends a consent link to a tenant admin who has no account here. The admin (a second browser
// context) first declines at Microsoft — a clear "Not connected" page, nothing linked — then
// approves through a new link for tenant Contoso; the staff user then sees the connection active
// with the tenant id that came from the token Consentry obtained itself.
import { expect, test, type Browser, type Page } from "@playwright/test";
import { controlEmulator, emulatorState, type Kind } from "./servers";
import {
  ORG,
  ORG_NAME,
  createConnectionInWizard,
  createConsentLink,
  expectSecretNotShown,
  signInAsAdmin,
  statusOf,
} from "./flows";

const PROVIDER = "Microsoft 365 (Office 365 Management API)";

/** The tenant admin: a fresh, signed-out browser context. */
async function asTenantAdmin<T>(browser: Browser, run: (page: Page) => Promise<T>): Promise<T> {
  const context = await browser.newContext({ locale: "en-US" });
  try {
    const page = await context.newPage();
    page.on("dialog", (d) => {
      throw new Error(`unexpected dialog: ${d.message()}`);
    });
    return await run(page);
  } finally {
    await context.close();
  }
}

test("Microsoft 365: consent link for a tenant admin, declined then approved; tenant id stored", async ({
  page,
  browser,
}, info) => {
  const kind = info.project.name as Kind;
  const emu = emulatorState();
  const { tid } = emu.azure.tenant;
  const baseURL = info.project.use.baseURL!;

  await signInAsAdmin(page, kind);

  await test.step("staff register the Microsoft app (secret write-only, redirect URI shown)", async () => {
    await page.goto(`/orgs/${ORG}/apps`);
    await page.getByRole("link", { name: "New OAuth app" }).first().click();
    await page.getByLabel("Provider").selectOption({ label: PROVIDER });
    await page.getByLabel("Name", { exact: true }).fill("Contoso Entra app");
    await page.getByLabel("Client id", { exact: true }).fill(emu.azure.clientId);
    await page.getByLabel("Client secret", { exact: true }).fill(emu.azure.clientSecret);
    await page.getByRole("button", { name: "Create OAuth app" }).click();
    await expect(page).toHaveURL(new RegExp(`/orgs/${ORG}/apps/[0-9a-f-]{36}\\?saved=1$`));
    await expect(page.getByTestId("redirect-uri")).toHaveText(`${baseURL}/api/oauth/callback/microsoft-365-management`);
    await expect(page.getByText("A client secret is stored (never shown).")).toBeVisible();
    await expectSecretNotShown(page, emu.azure.clientSecret);
  });

  const connectionPath = await createConnectionInWizard(page, {
    provider: new RegExp(`^${PROVIDER.replace(/[()]/g, "\\$&")}`),
    app: { existing: new RegExp(`^Contoso Entra app \\(this organization, ${emu.azure.clientId}\\)`) },
    name: "Contoso audit log",
  });

  await test.step("the tenant admin declines: a page they understand, nothing linked", async () => {
    const link = await createConsentLink(page);
    await controlEmulator("/azure/sign-in", {
      tid,
      decision: {
        error: "access_denied",
        error_description: 'AADSTS65004: User declined to consent to access the app. <img src=x onerror="alert(1)">',
      },
    });
    await asTenantAdmin(browser, async (admin) => {
      await admin.goto(link);
      await admin.getByRole("button", { name: `Continue to ${PROVIDER}` }).click();
      await expect(admin).toHaveURL(`${baseURL}/consent/result`);
      const result = admin.getByTestId("consent-result");
      await expect(result).toHaveAttribute("data-outcome", "failed");
      await expect(admin.getByRole("heading", { level: 1, name: "Not connected" })).toBeVisible();
      await expect(result).toContainText(`${PROVIDER} did not grant access.`);
      await expect(result.locator("code")).toHaveText("access_denied");
      // The provider's words are shown as text, never as markup.
      await expect(result).toContainText(
        'AADSTS65004: User declined to consent to access the app. <img src=x onerror="alert(1)">',
      );
      await expect(result.locator("img")).toHaveCount(0);
      await expect(result).toContainText(`send this page's message to ${ORG_NAME}`);
    });
    await page.reload();
    await expect(statusOf(page)).toHaveText("Waiting for consent");
    await expect(page.getByTestId("tenant-id")).toHaveCount(0);
  });

  await test.step("a new link, approved for tenant Contoso: connected, tenant id shown", async () => {
    const link = await createConsentLink(page);
    await controlEmulator("/azure/sign-in", { tid, decision: "approve" });
    await asTenantAdmin(browser, async (admin) => {
      await admin.goto(link);
      // The landing page names who asks, for what, and what is requested.
      await expect(admin.getByRole("heading", { level: 1 })).toHaveText(`${ORG_NAME} asks for access to ${PROVIDER}`);
      await expect(admin.getByText("Contoso audit log")).toBeVisible();
      await expect(admin.getByRole("listitem").filter({ hasText: /^https:\/\/manage\.office\.com$/ })).toBeVisible();
      await expect(admin.getByText(/Sign in with an administrator account of your Microsoft 365 tenant/)).toBeVisible();
      await admin.getByRole("button", { name: `Continue to ${PROVIDER}` }).click();

      // Back from the emulator: a clean URL (no code, no state) and the tenant Consentry verified.
      await expect(admin).toHaveURL(`${baseURL}/consent/result`);
      await expect(admin.getByTestId("consent-result")).toHaveAttribute("data-outcome", "connected");
      await expect(admin.getByRole("heading", { level: 1 })).toHaveText(
        new RegExp(`^Connected to .+ \\(tenant ${tid}\\)$`),
      );
      await expect(admin.getByText("You can close this tab.", { exact: true })).toBeVisible();
      // The tenant admin has no account here: nothing links back into the portal.
      await expect(admin.getByRole("link", { name: "Back to the connection" })).toHaveCount(0);

      // The link worked once.
      await admin.goto(link);
      await expect(admin.getByRole("heading", { name: "This consent link does not work" })).toBeVisible();
    });

    await page.goto(connectionPath);
    await expect(statusOf(page)).toHaveText("Active");
    await expect(page.getByTestId("tenant-id")).toHaveText(tid);
    await expect(page.getByText(emu.azure.tenant.adminUpn)).toBeVisible();

    // Seed 000, step 4: the Activity feed card. Starting a content type makes Microsoft (the emulator)
    // validate Consentry's listener over HTTP before it accepts the webhook.
    const feed = page.getByTestId("activity-feed");
    await expect(feed.getByRole("row", { name: /Audit\.General/ })).toContainText("Not started");
    await feed.getByRole("checkbox", { name: "DLP.All" }).uncheck();
    for (const ct of ["Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint"])
      await feed.getByRole("checkbox", { name: ct }).uncheck();
    await feed.getByRole("button", { name: "Start" }).click();
    await expect(feed.getByText(/^Started\./)).toBeVisible();
    const general = feed.getByRole("row", { name: /Audit\.General/ });
    await expect(general).toContainText("Running");
    await expect(general).toContainText("Receiving");
    await expect(feed.getByRole("row", { name: /Audit\.Exchange/ })).toContainText("Not started");
    // stopped: the row says so, and the type can be started again
    await general.getByRole("button", { name: "Stop" }).click();
    await expect(feed.getByRole("row", { name: /Audit\.General/ })).toContainText("Stopped");
    await expect(feed.getByRole("checkbox", { name: "Audit.General" })).toBeVisible();
    // The list shows it too.
    await page.goto(`/orgs/${ORG}/connections`);
    await expect(page.getByRole("row", { name: /Contoso audit log/ })).toContainText("Active");
  });
});
