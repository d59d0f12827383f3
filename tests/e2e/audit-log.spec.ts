// The audit log as people read it, in Chromium: a signed-in user's own Connect now and Refresh now
// are theirs (not an anonymous tenant admin's, not the system's), filters ignore case and spaces, a
// target links to its connection, an empty result offers to clear the filters, pages go older and
// back newer; the connection page shows its recent events and token lifetimes, and the overview its
// charts, each with a text alternative and a table of its numbers.
import { expect, test, type Page } from "@playwright/test";
import path from "node:path";
import { TMP, emulatorState, type Kind } from "./servers";
import { ORG, createConnectionInWizard, signInAsAdmin, statusOf } from "./flows";

const ADMIN = "admin@consentry.local";

async function filter(page: Page, fields: Partial<Record<"Action" | "Actor" | "Target", string>>) {
  await page.goto(`/orgs/${ORG}/audit`);
  const form = page.getByRole("search", { name: "Filter the audit log" });
  for (const [label, value] of Object.entries(fields)) await form.getByLabel(label, { exact: true }).fill(value);
  await form.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/\/audit\?/);
}

const rows = (page: Page) => page.getByTestId("audit-table").locator("tbody tr");

test("audit log: actors, filters in any case, target links, clear filters, paging; timeline; charts", async ({
  page,
}, info) => {
  const kind = info.project.name as Kind;
  const op = emulatorState().oidc;
  const name = `Audit Trail ${kind} ${Date.now().toString(36)}`;

  await signInAsAdmin(page, kind);
  const connectionPath = await createConnectionInWizard(page, {
    provider: /^Generic OAuth 2\.0/,
    app: { clientId: op.clientId, clientSecret: op.clientSecret },
    name,
    settings: async (p) => {
      await p.getByLabel("Authorization URL", { exact: true }).fill(op.authorizationUrl);
      await p.getByLabel("Access-token URL", { exact: true }).fill(op.tokenUrl);
      await p.getByLabel("Scopes", { exact: true }).fill("openid offline_access");
    },
  });
  await page.getByRole("button", { name: "Connect now" }).click();
  await expect(page.getByTestId("consent-result")).toHaveAttribute("data-outcome", "connected");
  await page.goto(connectionPath);
  await expect(statusOf(page)).toHaveText("Active");
  await page.getByRole("button", { name: "Refresh now" }).click();
  await expect(page.getByText("Refreshed: a new access token is stored.")).toBeVisible();

  // the connection page: its recent events, by the signed-in user, and its token lifetimes
  await page.reload();
  const timeline = page.getByTestId("connection-activity");
  const consent = timeline.locator("li").filter({ has: page.locator('[title="consent.completed"]') });
  await expect(consent).toContainText("Consent given");
  await expect(consent).toContainText(`${ADMIN} (user)`);
  const refreshed = timeline.locator("li").filter({ has: page.locator('[title="connection.refreshed"]') });
  await expect(refreshed).toContainText("Token refreshed");
  await expect(refreshed).toContainText(`${ADMIN} (user)`);
  await expect(timeline).not.toContainText("tenant admin");
  const lifetimes = page.getByTestId("token-timeline");
  await expect(lifetimes.getByRole("img", { name: "Access token" })).toHaveAccessibleDescription(
    /The access token expires in/,
  );
  await expect(lifetimes.getByRole("rowheader", { name: "Next refresh" })).toBeVisible();

  // filters: the connection's name in another case with spaces around, a human action name in capitals
  await filter(page, { Target: `   ${name.toUpperCase()}  `, Action: "  TOKEN Refreshed " });
  await expect(rows(page)).toHaveCount(1);
  const row = rows(page).first();
  await expect(row.locator('[title="connection.refreshed"]')).toHaveText("Token refreshed");
  await expect(row).toContainText(`${ADMIN} (user)`);
  await expect(row.getByRole("term").filter({ hasText: "Reason" })).toBeVisible();
  await expect(row.getByRole("definition").filter({ hasText: "manual" })).toBeVisible();
  // the raw code, case-folded, and the actor in capitals find the same row
  await filter(page, {
    Target: ` ${name.toLowerCase()} `,
    Action: " CONNECTION.REFRESHED",
    Actor: ` ${ADMIN.toUpperCase()} `,
  });
  await expect(rows(page)).toHaveCount(1);
  // the target links to the connection
  await rows(page).first().getByTestId("audit-target-link").click();
  await expect(page).toHaveURL(new RegExp(`${connectionPath}$`));
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();

  // nothing matches: say so, and offer to clear the filters
  await filter(page, { Action: "no such action anywhere" });
  await expect(page.getByRole("heading", { name: "No events match these filters" })).toBeVisible();
  await page.getByRole("link", { name: "Clear filters" }).last().click();
  await expect(page).toHaveURL(new RegExp(`/orgs/${ORG}/audit$`));
  await expect(rows(page).first()).toBeVisible();

  // paging: one event a page, older, older, then back newer; no event twice, none skipped on the way back
  await page.goto(`/orgs/${ORG}/audit?limit=1`);
  const ids = () => rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-event-id")));
  const first = await ids();
  expect(first).toHaveLength(1);
  await expect(page.getByRole("link", { name: "Newer events" })).toHaveCount(0);
  await page.getByRole("link", { name: "Older events" }).click();
  await expect(page.getByRole("link", { name: "Newer events" })).toBeVisible();
  const second = await ids();
  expect(second).toHaveLength(1);
  await page.getByRole("link", { name: "Older events" }).click();
  await expect.poll(ids).not.toEqual(second);
  const third = await ids();
  expect(new Set([...first, ...second, ...third]).size).toBe(first.length + second.length + third.length);
  await page.getByRole("link", { name: "Newer events" }).click();
  await expect(page).toHaveURL(/before=/);
  expect(await ids()).toEqual(second);

  // the overview: charts with their text alternatives and their numbers
  await page.goto(`/orgs/${ORG}`);
  const hourly = page.getByRole("img", { name: "Refreshes per hour, last 24 hours" });
  await expect(hourly).toBeVisible();
  await expect(hourly).toHaveAccessibleDescription(/Last 24 hours: \d+ refresh(es)? succeeded, \d+ failed\./);
  await expect(page.getByRole("img", { name: "Refreshes per day, last 7 days" })).toHaveAccessibleDescription(
    /Last 7 days: /,
  );
  await expect(page.getByRole("img", { name: "Connections by status, last 14 days" })).toHaveAccessibleDescription(
    /^Today: .*Active \d+/,
  );
  await expect(
    page.getByRole("img", { name: "Refresh tokens lapsing in the next 30 days" }),
  ).toHaveAccessibleDescription(/in the next 30 days/);
  const hourlyFigure = page.getByTestId("chart-refreshes-hourly");
  await hourlyFigure.getByText("Show the numbers").click();
  const table = hourlyFigure.getByRole("table", { name: "Refreshes per hour, last 24 hours" });
  await expect(table.locator("tbody tr")).toHaveCount(24);
  await expect(table.getByRole("columnheader", { name: "Succeeded" })).toBeVisible();

  // pictures of the pictures, in both themes (kept in tests/.tmp/screenshots: Playwright empties its output folder on the next run)
  for (const theme of ["light", "dark"]) {
    await page.context().addCookies([{ name: "consentry-theme", value: theme, url: info.project.use.baseURL! }]);
    for (const [shot, where] of [
      ["overview", `/orgs/${ORG}`],
      ["connection", connectionPath],
      ["audit", `/orgs/${ORG}/audit`],
    ]) {
      await page.goto(where!);
      await page.screenshot({
        path: path.join(TMP, "screenshots", "audit-log", `${shot}-${kind}-${theme}.png`),
        fullPage: true,
      });
    }
  }
  await page.context().addCookies([{ name: "consentry-locale", value: "ja", url: info.project.use.baseURL! }]);
  for (const [shot, where] of [
    ["overview", `/orgs/${ORG}`],
    ["audit", `/orgs/${ORG}/audit`],
  ]) {
    await page.goto(where!);
    await page.screenshot({
      path: path.join(TMP, "screenshots", "audit-log", `${shot}-${kind}-ja.png`),
      fullPage: true,
    });
  }
  await page.context().addCookies([{ name: "consentry-locale", value: "en", url: info.project.use.baseURL! }]);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`/orgs/${ORG}`);
  await page.screenshot({
    path: path.join(TMP, "screenshots", "audit-log", `overview-${kind}-390.png`),
    fullPage: true,
  });
});
