// The main path by keyboard alone (Tab, Shift+Tab, Enter, Space; typing in fields): sign in, open a
// connection from the list, create a consent link. Every element that takes focus on the way shows
// it (an outline or a ring).
import { expect, test, type Locator, type Page } from "@playwright/test";
import { cli, emulatorState, serverFor, serverState, type Kind } from "./servers";
import { ORG } from "./flows";

/** The focused element, and whether it shows focus: an outline, or a ring (box-shadow). */
async function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return null;
    const s = getComputedStyle(el);
    return {
      what: `${el.tagName.toLowerCase()} "${(el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 40)}"`,
      visible: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none",
    };
  });
}

async function expectFocusShown(page: Page) {
  const f = await focused(page);
  expect(f, "something has focus").not.toBeNull();
  expect(f!.visible, `focus is visible on ${f!.what}`).toBe(true);
}

/** Tab (each stop showing its focus) until `target` has focus. */
async function tabTo(page: Page, target: Locator, max = 120) {
  await target.waitFor();
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    await expectFocusShown(page);
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`${max} presses of Tab did not reach ${target.toString()}`);
}

test("sign in, open a connection, create a consent link: by keyboard alone, focus always visible", async ({
  browser,
}, info) => {
  const kind = info.project.name as Kind;
  const base = serverFor(kind).url;
  const op = emulatorState().oidc;
  // a connection waiting for consent, newest in the demo organization's list
  const key = cli(kind, ["api-key", "create", "--org", ORG, "--scopes", "connections:write"]);
  const name = `Keyboard ${kind} ${Date.now().toString(36)}`;
  const res = await fetch(`${base}/api/v1/connections`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      provider: "generic-oauth2",
      name,
      settings: { authorization_url: op.authorizationUrl, token_url: op.tokenUrl },
      oauth_app: { client_id: op.clientId, client_secret: op.clientSecret },
    }),
  });
  expect(res.status).toBe(201);

  const context = await browser.newContext({ baseURL: base, locale: "en-US" });
  const page = await context.newPage();
  await page.goto("/sign-in");
  // the e-mail field has focus on arrival
  await expect(page.getByLabel("E-mail")).toBeFocused();
  await expectFocusShown(page);
  await page.keyboard.type("admin@consentry.local");
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await expectFocusShown(page);
  await page.keyboard.type(serverState(kind).adminPassword);
  // Shift+Tab goes back to the e-mail, Tab forward again; Enter in a field submits
  await page.keyboard.press("Shift+Tab");
  await expect(page.getByLabel("E-mail")).toBeFocused();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/orgs/${ORG}$`));

  // the skip link comes first, then the sidebar
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await expectFocusShown(page);
  const nav = page.getByRole("navigation", { name: "Main navigation" });
  await tabTo(page, nav.getByRole("link", { name: "Connections", exact: true }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name: "Connections" })).toBeVisible();

  await tabTo(page, page.getByRole("link", { name, exact: true }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();

  const create = page.getByRole("button", { name: "Create a consent link" });
  await tabTo(page, create);
  await page.keyboard.press("Space");
  await expect(page.getByTestId("consent-link")).toHaveValue(/\/consent\/[A-Za-z0-9_-]{20,}$/);
  // the link and its copy button are reachable next
  await tabTo(page, page.getByTestId("consent-link"), 60);
  await context.close();
});
