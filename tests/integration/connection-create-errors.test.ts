// A new connection refused with every field's problem at once (the wizard shows each one beside its
// field in one answer): syntax errors, URLs the egress policy refuses (all of them, looked up side by
// side), the inline app's fields, the name. Nothing is written when anything is wrong.
import { expect, it } from "vitest";
import { AppError, type FieldError } from "@/lib/errors";
import { createConnection } from "@/lib/connections/create-connection";
import { describeEachDb } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { SYSTEM } from "../helpers/lifecycle";

async function refusal(p: Promise<unknown>): Promise<FieldError[]> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe("validation");
    return (e as AppError).errors ?? [];
  }
  throw new Error("expected a refusal");
}

describeEachDb("creating a connection: every error at once", (getDb) => {
  it("a bad authorization URL and a link-local token URL in one submit are both flagged", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const errors = await refusal(
      createConnection({
        db,
        organizationId: org.id,
        actor: SYSTEM,
        input: {
          provider: "generic-oauth2",
          name: "Partner",
          settings: { authorization_url: "javascript:alert(1)", token_url: "https://169.254.169.254/token" },
          oauth_app: { client_id: "c", client_secret: "s" },
        },
      }),
    );
    expect(errors).toEqual([
      { path: "settings.authorization_url", message: "validation.url" },
      { path: "settings.token_url", message: "validation.urlNotPublic", values: { host: "169.254.169.254" } },
    ]);
  });

  it("every refused URL, the inline app's fields and the name, in one answer; nothing stored", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const errors = await refusal(
      createConnection({
        db,
        organizationId: org.id,
        actor: SYSTEM,
        input: {
          provider: "generic-oauth2",
          name: "",
          settings: {
            authorization_url: "https://10.0.0.7/authorize",
            token_url: "https://[fd00:ec2::254]/token",
            refresh_url: "https://user:pw@as.example/refresh",
            test_url: "https://as.example/me#fragment",
            revocation_url: `https://as.example/${"x".repeat(2050)}`,
          },
          oauth_app: { client_id: "", client_secret: "s", redirect_uri: "ftp://files.example/" },
        },
      }),
    );
    const byPath = Object.fromEntries(errors.map((e) => [e.path, e.message]));
    expect(byPath).toEqual({
      name: "validation.nameRequired",
      "oauth_app.client_id": "validation.required",
      "oauth_app.redirect_uri": "validation.redirectUri",
      "settings.refresh_url": "validation.urlCredentials",
      "settings.test_url": "validation.urlFragment",
      "settings.revocation_url": "validation.tooLong",
      "settings.authorization_url": "validation.urlNotPublic",
      "settings.token_url": "validation.urlNotPublic",
    });
    expect(errors.find((e) => e.path === "settings.revocation_url")?.values).toEqual({ max: 2048 });
    expect(await db.connection.count({ where: { organizationId: org.id } })).toBe(0);
    expect(await db.oAuthApp.count({ where: { organizationId: org.id } })).toBe(0);
  });

  it("no app chosen and an unknown setting: both reported", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const errors = await refusal(
      createConnection({
        db,
        organizationId: org.id,
        actor: SYSTEM,
        input: { provider: "webex", name: "W", settings: { nope: "x" } },
      }),
    );
    expect(errors.map((e) => e.path).sort()).toEqual(["oauth_app_id", "settings"]);
    expect(errors.find((e) => e.path === "settings")).toEqual({
      path: "settings",
      message: "validation.unknownKeys",
      values: { keys: "nope" },
    });
  });
});
