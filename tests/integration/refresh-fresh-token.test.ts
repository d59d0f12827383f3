// getFreshToken against the Webex emulator: reads during a token's life never reach the provider
// (SECURITY.md Refresh 22), and concurrent callers for a nearly expired token share one refresh.
import crypto from "node:crypto";
import { afterAll, beforeAll, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { setProviderHostOverridesForTests } from "@/lib/providers/resolve-url";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import type { Db } from "@/lib/db/client";
import { createWebexEmulator, type WebexEmulator } from "../fixtures/webex-emulator";
import { followAuthorize } from "../fixtures/http-emulator";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { seedOrg } from "../helpers/factories";
import { connectViaConsent, storedTokens } from "../helpers/lifecycle";

const APP = {
  client_id: `C${crypto.randomBytes(16).toString("hex")}`,
  client_secret: crypto.randomBytes(24).toString("hex"),
};
let webex: WebexEmulator;

beforeAll(async () => {
  webex = await createWebexEmulator({
    integrations: [{ clientId: APP.client_id, clientSecret: APP.client_secret, redirectUris: [callbackUrl("webex")] }],
    rotateRefreshToken: true,
  });
  setProviderHostOverridesForTests({ "https://webexapis.com": webex.url });
});
afterAll(async () => {
  setProviderHostOverridesForTests(undefined);
  await webex?.close();
});

describeEachDb("getFreshToken (Webex emulator)", (getDb) => {
  const connect = async (t: TestDatabase) => {
    const org = await seedOrg(t.db);
    const { connectionId } = await connectViaConsent({
      db: t.db,
      organizationId: org.id,
      provider: "webex",
      app: APP,
      authorize: (url) => followAuthorize(url, { origins: [webex.url] }),
    });
    return { organizationId: org.id, connectionId, before: await storedTokens(t.db, connectionId) };
  };

  it("100 reads during one access token's lifetime make 0 calls to the provider", async () => {
    const t = getDb();
    const { organizationId, connectionId, before } = await connect(t);
    webex.resetRecording();
    const tokens: string[] = [];
    for (let i = 0; i < 50; i++)
      tokens.push((await getFreshToken({ db: t.db, organizationId, connectionId })).accessToken);
    tokens.push(
      ...(
        await Promise.all(
          Array.from({ length: 50 }, () =>
            getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 3600 }),
          ),
        )
      ).map((r) => r.accessToken),
    );
    expect(tokens).toHaveLength(100);
    expect(new Set(tokens)).toEqual(new Set([before.accessToken]));
    expect(webex.counters.tokenCalls).toBe(0);
    expect(webex.requests).toHaveLength(0);
    expect((await storedTokens(t.db, connectionId)).version).toBe(before.version);
  });

  it("50 concurrent calls for a nearly expired token in one process: exactly one refresh, everyone gets the new token", async () => {
    const t = getDb();
    const { organizationId, connectionId, before } = await connect(t);
    // 60 s left: inside the default minValidity (300 s)
    await t.db.connection.update({ where: { id: connectionId }, data: { expiresAt: new Date(Date.now() + 60_000) } });
    webex.resetRecording();
    // counts lease claims: callers in one process share one in-flight refresh instead of racing for the lease
    let claims = 0;
    const counted = t.db.$extends({
      query: {
        connection: {
          async updateMany({ args, query }) {
            if ((args.data as Record<string, unknown> | undefined)?.leaseOwner) claims++;
            return query(args);
          },
        },
      },
    }) as unknown as Db;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => getFreshToken({ db: counted, organizationId, connectionId })),
    );
    expect(claims).toBe(1);
    expect(webex.counters.tokenCalls).toBe(1);
    expect(webex.counters.refreshed).toBe(1);
    const after = await storedTokens(t.db, connectionId);
    expect(after.version).toBe(before.version! + 1);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken); // this emulator rotates
    for (const r of results) {
      expect(r.accessToken).toBe(after.accessToken);
      expect(r.expiresAt.getTime() - Date.now()).toBeGreaterThan(300_000);
    }
    // the token works at the provider
    const me = await fetch(`${webex.url}/v1/people/me`, { headers: { authorization: `Bearer ${after.accessToken}` } });
    expect(me.status).toBe(200);
  });

  it("50 concurrent calls for an expired token: one refresh too", async () => {
    const t = getDb();
    const { organizationId, connectionId } = await connect(t);
    await t.db.connection.update({ where: { id: connectionId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    webex.resetRecording();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 1 })),
    );
    expect(webex.counters.refreshed).toBe(1);
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(results[0]!.accessToken).toBe((await storedTokens(t.db, connectionId)).accessToken);
  });

  it("a lease another worker keeps past the wait: a token that still works is served (min_validity_met false), an expired one is 502 busy", async () => {
    const t = getDb();
    const { organizationId, connectionId, before } = await connect(t);
    // a worker that took the lease and never released it (its database went away meanwhile)
    await t.db.connection.update({
      where: { id: connectionId },
      data: {
        expiresAt: new Date(Date.now() + 100_000),
        leaseOwner: "gone",
        leaseUntil: new Date(Date.now() + 60_000),
      },
    });
    webex.resetRecording();
    const served = await getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 600, waitMs: 400 });
    expect(served).toMatchObject({
      accessToken: before.accessToken,
      minValidityMet: false,
      reason: "provider_unavailable",
    });
    expect(webex.counters.refreshed).toBe(0);

    await t.db.connection.update({ where: { id: connectionId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expect(
      getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 600, waitMs: 400 }),
    ).rejects.toMatchObject({ code: "refresh-failed", retryAfter: 2 });
    expect(webex.counters.refreshed).toBe(0);
  });

  it("another organization's id never returns this connection's token", async () => {
    const t = getDb();
    const { connectionId } = await connect(t);
    const other = await seedOrg(t.db);
    await expect(getFreshToken({ db: t.db, organizationId: other.id, connectionId })).rejects.toMatchObject({
      code: "not-found",
    });
  });
});
