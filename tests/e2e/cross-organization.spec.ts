// A member of one organization gets "not found" for every page of another, and cannot act on it
// by tampering with a form.
import { expect, test, type Page } from "@playwright/test";
import { cliAsync, type Kind } from "./servers";

async function signIn(page: Page, email: string, password: string) {
  await page.goto("/sign-in");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).not.toHaveURL(/\/sign-in/);
}

test("organization B is invisible to a member of organization A", async ({ page }, info) => {
  const kind = info.project.name as Kind;
  const suffix = Date.now().toString(36);
  const a = `alpha-${suffix}`;
  const b = `bravo-${suffix}`;
  // Independent CLI commands side by side: each one starts a process.
  await Promise.all([
    cliAsync(kind, ["org", "create", "--name", `Alpha ${suffix}`, "--slug", a]),
    cliAsync(kind, ["org", "create", "--name", `Bravo ${suffix}`, "--slug", b]),
  ]);
  const [alicePassword] = await Promise.all([
    cliAsync(kind, ["user", "create", "--email", `alice-${suffix}@example.com`, "--org", a, "--role", "owner"]),
    cliAsync(kind, ["user", "create", "--email", `bob-${suffix}@example.com`, "--org", b, "--role", "owner"]),
  ]);

  await signIn(page, `alice-${suffix}@example.com`, alicePassword);
  await expect(page).toHaveURL(new RegExp(`/orgs/${a}$`));

  for (const section of ["", "/connections", "/apps", "/api-keys", "/audit", "/settings"]) {
    const res = await page.goto(`/orgs/${b}${section}`);
    expect(res?.status(), `/orgs/${b}${section}`).toBe(404);
    await expect(page.getByText(`Bravo ${suffix}`)).toHaveCount(0);
  }
  // The same 404 as an organization that does not exist: nothing to learn from the difference.
  expect((await page.goto(`/orgs/no-such-org-${suffix}`))?.status()).toBe(404);
  // Staff pages are not for members.
  expect((await page.goto("/admin/organizations"))?.status()).toBe(404);
  // The switcher lists only Alice's organization.
  await page.goto(`/orgs/${a}`);
  await expect(page.locator("#org-switcher option")).toHaveText([`Alpha ${suffix}`]);

  // Tampering with a form's hidden organization field does not reach B.
  await page.goto(`/orgs/${a}/settings`);
  await page
    .locator('form:has(input[name="name"]) input[name="org"]')
    .evaluate((el, slug) => ((el as HTMLInputElement).value = slug), b);
  await page.getByLabel("Name").fill("Taken over");
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForLoadState("networkidle");
  const orgs = await cliAsync(kind, ["org", "list"]);
  expect(orgs).toContain(`${b}\tBravo ${suffix}`);
  expect(orgs).not.toContain("Taken over");
});

test("unauthenticated requests to portal pages go to sign-in, never to data", async ({ page }) => {
  for (const p of ["/orgs", "/orgs/demo", "/orgs/demo/settings", "/admin/organizations"]) {
    await page.goto(p);
    await expect(page).toHaveURL(/\/sign-in/);
  }
});
