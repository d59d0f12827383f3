// Forms keep what was typed when the server refuses it, with the reason beside the field (API key,
// webhook, OAuth app); "Send test event" shows what the endpoint answered; accounts: a person added
// with a one-time password chooses their own at first sign-in (and only that one works afterwards),
// an admin changes a member's role, and a new organization is in the switcher at once.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { expect, test, type Page } from "@playwright/test";
import { ORG, signInAsAdmin } from "./flows";
import type { Kind } from "./servers";

const suffix = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

async function signIn(page: Page, email: string, password: string) {
  await page.goto("/sign-in");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A webhook receiver on loopback (the e2e servers run with the test-only loopback egress allowance). */
async function startReceiver() {
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test("a refused submit keeps every field, with the error beside it (API key, webhook, OAuth app)", async ({
  page,
}, info) => {
  await signInAsAdmin(page, info.project.name as Kind);
  const name = `kept key ${suffix()}`;

  // API key: no scope ticked → the name and the (un)ticked boxes stay, the error is by the scopes
  await page.goto(`/orgs/${ORG}/api-keys`);
  const keyForm = page.locator("form", { has: page.getByRole("button", { name: "Create API key" }) });
  await keyForm.getByLabel("Name").fill(name);
  const scope = (s: string) => keyForm.getByRole("checkbox", { name: new RegExp(`^${s}`) });
  await scope("connections:read").uncheck();
  await scope("tokens:read").uncheck();
  await keyForm.getByRole("button", { name: "Create API key" }).click();
  await expect(keyForm.locator("#f-scopes-error")).toHaveText("Choose at least one scope.");
  await expect(keyForm.getByLabel("Name")).toHaveValue(name);
  await expect(scope("connections:read")).not.toBeChecked();
  await expect(scope("tokens:read")).not.toBeChecked();

  // a past expiry: the name, the ticks and the date stay
  await scope("proxy").check();
  await keyForm.getByLabel("Expires on (optional)").fill("2020-01-31");
  await keyForm.getByRole("button", { name: "Create API key" }).click();
  await expect(keyForm.locator("#f-expiresAt-error")).toHaveText("Choose a date in the future.");
  await expect(keyForm.getByLabel("Name")).toHaveValue(name);
  await expect(scope("proxy")).toBeChecked();
  await expect(scope("connections:read")).not.toBeChecked();
  await expect(keyForm.getByLabel("Expires on (optional)")).toHaveValue("2020-01-31");

  // webhook: an address that is not on the public internet → the URL and the chosen events stay
  await page.goto(`/orgs/${ORG}/webhooks`);
  const hookForm = page.locator("form", { has: page.getByRole("button", { name: "Add an endpoint" }) });
  const event = (e: string) => hookForm.getByRole("checkbox", { name: e, exact: true });
  await hookForm.getByLabel("Endpoint URL").fill("https://10.0.0.7/hooks/consentry");
  await event("connection.recovered").uncheck();
  await hookForm.getByRole("button", { name: "Add an endpoint" }).click();
  await expect(hookForm.locator("#f-url-error")).toHaveText(
    "10.0.0.7 is not a public internet address; Consentry only connects to public hosts.",
  );
  await expect(hookForm.getByLabel("Endpoint URL")).toHaveValue("https://10.0.0.7/hooks/consentry");
  await expect(event("connection.recovered")).not.toBeChecked();
  await expect(event("connection.revoked")).toBeChecked();

  // OAuth app: a redirect URI a browser would run → the name, client id and the URI stay
  await page.goto(`/orgs/${ORG}/apps/new`);
  const appName = `kept app ${suffix()}`;
  await page.getByLabel("Name").fill(appName);
  await page.getByLabel("Client id").fill("kept-client-id");
  await page.getByLabel("Custom redirect URI (optional)").fill("javascript:alert(1)");
  await page.getByRole("button", { name: "Create OAuth app" }).click();
  await expect(page.locator("#f-redirectUri-error")).toBeVisible();
  await expect(page.getByLabel("Name")).toHaveValue(appName);
  await expect(page.getByLabel("Client id")).toHaveValue("kept-client-id");
  await expect(page.getByLabel("Custom redirect URI (optional)")).toHaveValue("javascript:alert(1)");
  // an over-long client id: zod's limit, said in words
  await page.getByLabel("Custom redirect URI (optional)").fill("");
  await page.getByLabel("Client id").fill("x".repeat(513));
  await page.getByRole("button", { name: "Create OAuth app" }).click();
  await expect(page.locator("#f-clientId-error")).toHaveText("Enter at most 512 characters.");
  await expect(page.getByLabel("Name")).toHaveValue(appName);
});

test("Send test event: a signed webhook.test, and what the endpoint answered", async ({ page }, info) => {
  const receiver = await startReceiver();
  try {
    await signInAsAdmin(page, info.project.name as Kind);
    await page.goto(`/orgs/${ORG}/webhooks`);
    const hookForm = page.locator("form", { has: page.getByRole("button", { name: "Add an endpoint" }) });
    const url = `${receiver.url}/${suffix()}`;
    await hookForm.getByLabel("Endpoint URL").fill(url);
    // subscribed to one event only: the test event goes anyway
    for (const box of await hookForm.getByRole("checkbox").all()) await box.uncheck();
    await hookForm.getByRole("checkbox", { name: "connection.revoked", exact: true }).check();
    await hookForm.getByRole("button", { name: "Add an endpoint" }).click();
    const secret = (await page.getByTestId("webhook-secret").textContent())!.trim();
    // the new form is empty again, ready for another endpoint
    await expect(hookForm.getByLabel("Endpoint URL")).toHaveValue("");

    const row = page.locator("li", { hasText: url });
    await row.getByRole("button", { name: "Send test event" }).click();
    await expect(row.getByTestId("test-event-outcome")).toHaveText(
      "Test event delivered: the endpoint answered HTTP 204.",
    );
    expect(receiver.received).toHaveLength(1);
    const r = receiver.received[0]!;
    expect(r.headers["consentry-event"]).toBe("webhook.test");
    expect(new Webhook(secret).verify(r.body, r.headers as Record<string, string>)).toMatchObject({
      type: "webhook.test",
    });
    // the delivery log shows it delivered, at once
    await expect(page.locator("tr", { hasText: "webhook.test" }).first()).toContainText("Delivered");

    // the receiver goes away: the outcome says so
    await receiver.close();
    await row.getByRole("button", { name: "Send test event" }).click();
    await expect(row.getByTestId("test-event-outcome")).toHaveText(
      "Test event not delivered: the endpoint could not be reached.",
    );
    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await expect(row).toHaveCount(0);
  } finally {
    await receiver.close().catch(() => {});
  }
});

test("an added person chooses their own password at first sign-in; only that one works afterwards; an admin changes their role", async ({
  page,
  browser,
}, info) => {
  await signInAsAdmin(page, info.project.name as Kind);
  const email = `first-${suffix()}@example.com`;
  await page.goto(`/orgs/${ORG}/settings`);
  const addForm = page.locator("form", { has: page.getByRole("button", { name: "Add", exact: true }) });
  await addForm.getByLabel("E-mail").fill(email);
  await addForm.getByRole("button", { name: "Add", exact: true }).click();
  const given = (await page.getByTestId("one-time-password").textContent())!.trim();
  expect(given).toMatch(/^[A-Za-z0-9-]{20,}$/);

  const context = await browser.newContext();
  const person = await context.newPage();
  try {
    await signIn(person, email, given);
    await expect(person).toHaveURL(/\/choose-password$/);
    await expect(person.getByRole("heading", { level: 1, name: "Choose your password" })).toBeVisible();
    // nothing else opens until they have
    await person.goto(`/orgs/${ORG}/connections`);
    await expect(person).toHaveURL(/\/choose-password$/);

    // refused: the two new ones differ (what was typed stays)
    const own = `my own ${suffix()} password`;
    await person.getByLabel("Password you were given").fill(given);
    await person.getByLabel("New password", { exact: true }).fill(own);
    await person.getByLabel("New password again").fill(`${own}?`);
    await person.getByRole("button", { name: "Save my password" }).click();
    await expect(person.locator("#f-confirmPassword-error")).toHaveText("The two new passwords differ.");
    await expect(person.getByLabel("New password", { exact: true })).toHaveValue(own);
    await person.getByLabel("New password again").fill(own);
    await person.getByRole("button", { name: "Save my password" }).click();
    await expect(person).toHaveURL(new RegExp(`/orgs/${ORG}$`));

    // a member: the API keys page is not theirs
    expect((await person.goto(`/orgs/${ORG}/api-keys`))?.status()).toBe(404);

    // the admin makes them an admin
    await page.reload();
    const role = page.getByLabel(`Role of ${email}`);
    await role.selectOption("admin");
    const roleForm = page.locator("form", { has: role });
    await roleForm.getByRole("button", { name: "Change role" }).click();
    await expect(roleForm.getByRole("status")).toHaveText("Role changed to Admin.");
    await page.reload();
    await expect(page.getByLabel(`Role of ${email}`)).toHaveValue("admin");
    expect((await person.goto(`/orgs/${ORG}/api-keys`))?.status()).toBe(200);

    // signed out: the given password no longer works, their own does
    await person.getByRole("navigation", { name: "Main navigation" }).getByRole("button", { name: "Sign out" }).click();
    await expect(person).toHaveURL(/\/sign-in/);
    await signIn(person, email, given);
    await expect(person.getByText("That e-mail and password do not match an account.", { exact: false })).toBeVisible();
    await signIn(person, email, own);
    await expect(person).toHaveURL(new RegExp(`/orgs/${ORG}$`));

    // and changes it again on their own, from beside "Sign out"
    await person.getByRole("link", { name: "Change password" }).click();
    await expect(person.getByRole("heading", { level: 1, name: "Change password" })).toBeVisible();
    const again = `${own} again`;
    await person.getByLabel("Current password").fill(given);
    await person.getByLabel("New password", { exact: true }).fill(again);
    await person.getByLabel("New password again").fill(again);
    await person.getByRole("button", { name: "Change password" }).click();
    await expect(person.locator("#f-currentPassword-error")).toHaveText("This is not your current password.");
    await person.getByLabel("Current password").fill(own);
    await person.getByRole("button", { name: "Change password" }).click();
    await expect(person.getByRole("status").filter({ hasText: "Your password was changed." })).toBeVisible();
    await expect(person.getByLabel("Current password")).toHaveValue("");
  } finally {
    await context.close();
  }
});

test("a new organization is in the switcher at once", async ({ page }, info) => {
  await signInAsAdmin(page, info.project.name as Kind);
  const name = `Switch ${suffix()}`;
  await page.goto("/admin/organizations");
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(page).toHaveURL(/\/orgs\/switch-/);
  await expect(page.locator("#org-switcher option", { hasText: name })).toHaveCount(1);
  await expect(page.locator("#org-switcher")).toHaveValue(new URL(page.url()).pathname.split("/")[2]!);
});
