// The token endpoint's joined statement (API key + connection + token set): the same rows as the two
// separate statements, and another organization's connection is never joined to a key.
import { beforeAll, expect, it } from "vitest";
import { hashApiKey } from "@/lib/api-keys/create-api-key";
import { hotQueries } from "@/lib/db/hot-queries";
import { describeEachDb } from "../helpers/db";
import { seedConnection, seedOrg, seedTokenSet } from "../helpers/factories";
import { newApiKey, type TestKey } from "../helpers/api";

describeEachDb("hot queries: API key with connection", (getDb) => {
  let orgA: string;
  let keyA: TestKey;
  let withTokens: string;
  let pending: string;
  let otherOrgs: string;

  beforeAll(async () => {
    const { db } = getDb();
    orgA = (await seedOrg(db)).id;
    const orgB = (await seedOrg(db)).id;
    keyA = await newApiKey(db, orgA);
    const a = await seedConnection(db, { organizationId: orgA, providerId: "generic-oauth2" });
    await seedTokenSet(db, { connection: a, accessToken: "at-a" });
    await db.connection.update({
      where: { id: a.id },
      data: { expiresAt: new Date("2030-01-02T03:04:05.678Z"), scopes: "read write", externalTenantId: "tenant-a" },
    });
    withTokens = a.id;
    pending = (
      await db.connection.create({
        data: { organizationId: orgA, providerId: "generic-oauth2", name: "pending", status: "pending_consent" },
      })
    ).id;
    const b = await seedConnection(db, { organizationId: orgB, providerId: "generic-oauth2" });
    await seedTokenSet(db, { connection: b, accessToken: "at-b" });
    otherOrgs = b.id;
  });

  const hash = () => hashApiKey(keyA.key);

  it("equals the key lookup and the connection read made separately", async () => {
    const hot = hotQueries(getDb().db);
    const joined = await hot.apiKeyWithConnection(hash(), withTokens);
    expect(joined).toBeDefined();
    expect(joined!.key).toEqual(await hot.apiKeyByHash(hash()));
    expect(joined!.key).toMatchObject({ id: keyA.id, organizationId: orgA, prefix: keyA.prefix, revokedAt: null });
    expect(joined!.connection).toEqual(await hot.connectionWithTokens(withTokens, orgA));
    expect(joined!.connection).toMatchObject({
      id: withTokens,
      status: "active",
      scopes: "read write",
      externalTenantId: "tenant-a",
      tokenType: "Bearer",
      version: 1,
    });
    expect(joined!.connection!.expiresAt?.toISOString()).toBe("2030-01-02T03:04:05.678Z");
    expect(joined!.connection!.accessTokenEnc).toMatch(/^enc1\./);
  });

  it("a connection without tokens comes with null token columns", async () => {
    const joined = await hotQueries(getDb().db).apiKeyWithConnection(hash(), pending);
    expect(joined!.connection).toMatchObject({
      id: pending,
      status: "pending_consent",
      accessTokenEnc: null,
      tokenType: null,
      version: null,
    });
  });

  it("another organization's connection, or none, reads as no connection; the key is still returned", async () => {
    const hot = hotQueries(getDb().db);
    for (const id of [otherOrgs, "no-such-connection"]) {
      const joined = await hot.apiKeyWithConnection(hash(), id);
      expect(joined!.key.id).toBe(keyA.id);
      expect(joined!.connection).toBeUndefined();
    }
  });

  it("an unknown key reads as nothing, whatever the connection", async () => {
    const hot = hotQueries(getDb().db);
    expect(await hot.apiKeyWithConnection(hashApiKey(`csk_${"x".repeat(43)}`), withTokens)).toBeUndefined();
  });
});
