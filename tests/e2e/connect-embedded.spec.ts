// Consent embedded in a customer's product (connect sessions + connect.js), in Chromium on both
// databases: a settings page on a second origin (tests/fixtures/customer-app.ts) opens the hosted
// connect page as a popup or a redirect; the data owner approves at oidc-provider; the page hears
// the result. Also: a reused session, a closed popup, an origin that is not allowed (no message), an
// expired session, and another organization naming this one's connection.
import { expect, test, type Page } from "@playwright/test";
import { cli, emulatorState, serverFor, type Kind } from "./servers";
import { startCustomerApp, type CustomerApp } from "../fixtures/customer-app";

test.describe.configure({ mode: "serial" });

let app: CustomerApp;
let key = "";
let base = "";
let connectionId = "";

async function api(path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const events = (page: Page) => page.locator("#events li");

async function openCustomerPage(page: Page, query = "") {
  await page.goto(`${app.url}/${query}`);
  await expect(page.locator("#session")).toContainText(/ready|refused/);
}

test.beforeAll(async ({}, info) => {
  const kind = info.project.name as Kind;
  base = serverFor(kind).url;
  const op = emulatorState().oidc;
  key = cli(kind, ["api-key", "create", "--org", "demo", "--scopes", "connections:read,connections:write"]).trim();
  // the organization's own app for the generic provider, made through the API with a first connection
  const seeded = await api("/api/v1/connections", {
    method: "POST",
    body: JSON.stringify({
      provider: "generic-oauth2",
      name: `seed ${kind}`,
      settings: { authorization_url: op.authorizationUrl, token_url: op.tokenUrl },
      oauth_app: { client_id: op.clientId, client_secret: op.clientSecret },
    }),
  });
  expect(seeded.status).toBe(201);
  const apps = (await api("/api/v1/oauth-apps")).json.data as Array<{ id: string; client_id: string; owner: string }>;
  const appId = apps.find((a) => a.client_id === op.clientId && a.owner === "organization")!.id;
  const slug = `other-${kind}-${Date.now().toString(36)}`;
  cli(kind, ["org", "create", "--name", "Other Org", "--slug", slug]);
  const otherKey = cli(kind, [
    "api-key",
    "create",
    "--org",
    slug,
    "--scopes",
    "connections:read,connections:write",
  ]).trim();
  app = await startCustomerApp({
    consentry: base,
    keys: { default: key, other: otherKey },
    session: {
      provider: "generic-oauth2",
      name: `Embedded ${kind}`,
      settings: { authorization_url: op.authorizationUrl, token_url: op.tokenUrl },
      scopes: ["openid", "offline_access"],
      metadata: { customer_id: "acme-42" },
      oauth_app_id: appId,
    },
  });
});
test.afterAll(async () => app?.close());

test("popup: approved at the provider, the opener hears connected with the connection id; the used session then reports error", async ({
  page,
}) => {
  await openCustomerPage(page);
  const popupOpened = page.waitForEvent("popup");
  await page.getByRole("button", { name: "Connect (popup)" }).click();
  const popup = await popupOpened;
  await expect(popup.getByRole("heading", { level: 1 })).toContainText("asks for access to");
  const closed = popup.waitForEvent("close");
  await popup.getByRole("button", { name: /^Continue to/ }).click();
  await closed;
  await expect(events(page)).toHaveText([
    '{"type":"opened"}',
    /^\{"type":"connected","connectionId":"[0-9a-f-]{36}"\}$/,
  ]);
  connectionId = (JSON.parse((await events(page).nth(1).textContent())!) as { connectionId: string }).connectionId;
  const c = await api(`/api/v1/connections/${connectionId}`);
  expect(c.json).toMatchObject({ status: "active", metadata: { customer_id: "acme-42" } });

  // the same session again: a clear page, and the opener gets an error
  const again = page.waitForEvent("popup");
  await page.getByRole("button", { name: "Connect (popup)" }).click();
  const second = await again;
  await expect(events(page)).toHaveText([
    /opened/,
    /connected/,
    '{"type":"opened"}',
    `{"type":"error","connectionId":"${connectionId}","error":"used"}`,
  ]);
  await expect.poll(() => second.isClosed()).toBe(true);
  // the page itself, opened where no opener can be told (and so it stays): a clear page
  await expectClosedPage(page, "used");
});

/** The hosted page of the customer page's session, in a tab of its own (no opener: it does not close). */
async function expectClosedPage(page: Page, reason: string) {
  const url = await page.locator("#session").getAttribute("data-connect-url");
  const tab = await page.context().newPage();
  await tab.goto(`${url}?mode=popup`);
  await expect(tab.getByTestId("connect-closed")).toHaveAttribute("data-reason", reason);
  await expect(tab.getByRole("heading", { level: 1 })).toHaveText("This connect page does not work any more");
  await tab.close();
}

test("redirect: the page is left for the connect page and comes back to return_url with status and connection id", async ({
  page,
}) => {
  await openCustomerPage(page);
  await page.getByRole("button", { name: "Connect (redirect)" }).click();
  await expect(page).toHaveURL(new RegExp(`^${base}/connect/[A-Za-z0-9_-]{43}\\?mode=redirect$`));
  await page.getByRole("button", { name: /^Continue to/ }).click();
  await expect(page).toHaveURL(new RegExp(`^${app.url}/return\\?`));
  await expect(page.locator('dd[data-key="status"]')).toHaveText("connected");
  const id = await page.locator('dd[data-key="connection_id"]').textContent();
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect((await api(`/api/v1/connections/${id}`)).json).toMatchObject({ status: "active" });
  // nothing else is in the address: no token, no code, no state
  expect([...new URL(page.url()).searchParams.keys()].sort()).toEqual(["connection_id", "status"]);
});

test("a popup closed before the end: closed", async ({ page }) => {
  await openCustomerPage(page);
  const popupOpened = page.waitForEvent("popup");
  await page.getByRole("button", { name: "Connect (popup)" }).click();
  const popup = await popupOpened;
  await expect(popup.getByRole("button", { name: /^Continue to/ })).toBeVisible();
  await popup.close();
  await expect(events(page)).toHaveText(['{"type":"opened"}', '{"type":"closed"}']);
});

test("an origin that is not allowed hears nothing, though the connection is made", async ({ page }) => {
  await openCustomerPage(page, "?origins=https://elsewhere.example");
  const sessionId = await page.locator("#session").getAttribute("data-session-id");
  const popupOpened = page.waitForEvent("popup");
  await page.getByRole("button", { name: "Connect (popup)" }).click();
  const popup = await popupOpened;
  const closed = popup.waitForEvent("close");
  await popup.getByRole("button", { name: /^Continue to/ }).click();
  await closed;
  // the popup posted only to https://elsewhere.example and closed; the status poll is refused by CORS
  await expect(events(page)).toHaveText(['{"type":"opened"}', '{"type":"closed"}']);
  const s = await api(`/api/v1/connect-sessions/${sessionId}`);
  expect(s.json).toMatchObject({ status: "connected" });
  // two more status polls settle (refused by CORS): still nothing heard
  let settled = 0;
  const count = (r: { url(): string }) => void (/\/connect\/[A-Za-z0-9_-]{43}\/status$/.test(r.url()) && settled++);
  page.on("requestfinished", count);
  page.on("requestfailed", count);
  await expect.poll(() => settled, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
  await expect(events(page)).toHaveCount(2);
});

test("an expired session: a clear page, and the opener gets error expired", async ({ page }) => {
  await openCustomerPage(page, "?expires_in=10");
  const sessionId = await page.locator("#session").getAttribute("data-session-id");
  await expect
    .poll(async () => (await api(`/api/v1/connect-sessions/${sessionId}`)).json.status, { timeout: 20_000 })
    .toBe("expired");
  const popupOpened = page.waitForEvent("popup");
  await page.getByRole("button", { name: "Connect (popup)" }).click();
  const popup = await popupOpened;
  await expect(events(page)).toHaveText(['{"type":"opened"}', '{"type":"error","error":"expired"}']);
  await expect.poll(() => popup.isClosed()).toBe(true);
  await expectClosedPage(page, "expired");
});

test("another organization naming this organization's connection gets no session", async ({ page }) => {
  expect(connectionId).not.toBe("");
  await openCustomerPage(page, `?account=other&connection_id=${connectionId}`);
  await expect(page.locator("#session")).toHaveText("Session refused: 404 not-found");
  await expect(page.getByRole("button", { name: "Connect (popup)" })).toBeDisabled();
  expect((await api(`/api/v1/connections/${connectionId}`)).json).toMatchObject({ status: "active" });
});
