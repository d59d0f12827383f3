// What the instances share through Redis besides the limits (tests/integration/shared-limits.test.ts
// runs those across real server processes), against the machine's Redis under a key prefix of this
// run's own: a caller waiting for another instance's refresh is told of its end through pub/sub (and
// stops listening when it has its answer); a failed-authentication lockout counted elsewhere is
// honoured here (announced, or learnt at the address's next failure); the app-only token cache holds
// tokens sealed and bound to their organization, app and tenant; "once per interval" work is done by one caller.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.CONSENTRY_REDIS_URL = "redis://127.0.0.1:6379";
  process.env.CONSENTRY_REDIS_PREFIX = `consentry-test:in-process:${Math.random().toString(36).slice(2)}:`;
});

import { RateLimiterRedis } from "rate-limiter-flexible";
import { Redis } from "ioredis";
import { env } from "@/lib/env";
import { authLockout, countAuthFailure } from "@/lib/api-keys/auth-failure-limit";
import { closeRedis, redis, redisKey, redisReady, redisSubscriber } from "@/lib/redis/client";
import { oncePer } from "@/lib/redis/once-per";
import { claimLease, releaseLease } from "@/lib/tokens/lease";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { announceRefreshEnded, listenForRefresh } from "@/lib/tokens/refresh-signal";
import { readSharedAppToken, storeSharedAppToken } from "@/lib/tokens/app-token-cache";
import { sealToken } from "@/lib/tokens/token-secrets";
import { describeEachDb } from "../helpers/db";
import { seedConnection, seedOAuthApp, seedOrg, seedTokenSet } from "../helpers/factories";
import { removeKeys, SHARED_REDIS_URL } from "../helpers/private-redis";

/** until `check` holds (no fixed wait: polls, fails after 20 s) */
async function eventually(check: () => Promise<boolean>) {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition never held");
}

const subscribers = async (channel: string) =>
  Number(((await redis()!.pubsub("NUMSUB", channel)) as [string, number])[1]);

beforeAll(async () => {
  expect(env().redisPrefix).toMatch(/^consentry-test:in-process:/);
  expect(await redisReady(5000)).toBe(true);
  // the subscriber connection opens on first use; a listener made before it is ready is null (the caller polls)
  redisSubscriber();
  await eventually(async () => redisSubscriber()!.status === "ready");
});
afterAll(async () => {
  const prefix = env().redisPrefix;
  await closeRedis();
  await removeKeys(SHARED_REDIS_URL, prefix);
});

describe("refresh signals", () => {
  it("a listener hears the end of that connection's refresh, announced from any connection to Redis", async () => {
    const id = `conn-${crypto.randomBytes(4).toString("hex")}`;
    const l = (await listenForRefresh(id))!;
    expect(l).not.toBeNull();
    expect(await subscribers(redisKey("refreshed", id))).toBe(1);
    const woken = l.wait(60_000); // far longer than the test may take: only the message can end it in time
    announceRefreshEnded(id);
    await woken;
    l.close();
    await eventually(async () => (await subscribers(redisKey("refreshed", id))) === 0);
  });
});

describeEachDb("a caller waiting for another instance's refresh", (getDb) => {
  it("listens on the connection's channel while the other holds the lease, and answers with its token once told", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const app = await seedOAuthApp(db, { organizationId: org.id, clientSecret: "s", providerId: "generic-oauth2" });
    const conn = await seedConnection(db, { organizationId: org.id, oauthAppId: app.id, providerId: "generic-oauth2" });
    await seedTokenSet(db, { connection: conn, accessToken: "old-token", refreshToken: "rt" });
    // a token with a minute left; the caller wants ten
    await db.connection.update({ where: { id: conn.id }, data: { expiresAt: new Date(Date.now() + 60_000) } });
    expect(await claimLease({ db, connectionId: conn.id, owner: "another-instance" })).toBe(true);

    const answer = getFreshToken({ db, organizationId: org.id, connectionId: conn.id, minValidity: 600 });
    const channel = redisKey("refreshed", conn.id);
    await eventually(async () => (await subscribers(channel)) === 1);

    // the other instance commits its refresh, lets go of the lease and says so
    const owner = { organizationId: org.id, connectionId: conn.id };
    await db.tokenSet.update({
      where: { connectionId: conn.id },
      data: { accessTokenEnc: sealToken(owner, "accessTokenEnc", "new-token"), version: { increment: 1 } },
    });
    await db.connection.update({ where: { id: conn.id }, data: { expiresAt: new Date(Date.now() + 3600_000) } });
    await releaseLease({ db, connectionId: conn.id, owner: "another-instance" });
    announceRefreshEnded(conn.id);

    expect(await answer).toMatchObject({ accessToken: "new-token", minValidityMet: true });
    await eventually(async () => (await subscribers(channel)) === 0);
  });
});

describe("failed-authentication lockouts of other instances", () => {
  it("an announced lockout is refused here from memory, with the time it has left", async () => {
    const client = "198.51.100.77";
    expect(await authLockout(client)).toBeNull(); // also starts following announcements
    await eventually(async () => (await subscribers(redisKey("auth-lockout"))) >= 1);
    await redis()!.publish(redisKey("auth-lockout"), JSON.stringify({ client, ms: 120_000 }));
    await eventually(async () => (await authLockout(client)) !== null);
    expect(await authLockout(client)).toMatchObject({ code: "rate-limited", status: 429 });
    expect((await authLockout(client))!.retryAfter).toBeLessThanOrEqual(120);
    expect(await authLockout("198.51.100.78")).toBeNull();
  });

  it("a lockout whose announcement was missed is learnt at the address's next failure here", async () => {
    const client = "198.51.100.79";
    // another instance counted every failure (a limiter of its own on the same keys), and its message never came
    const elsewhere = new Redis(SHARED_REDIS_URL);
    try {
      const other = new RateLimiterRedis({
        storeClient: elsewhere,
        keyPrefix: redisKey("limit", "api-auth-failures"),
        points: env().apiAuthFailuresPerIp,
        duration: env().apiAuthFailureWindowSeconds,
      });
      for (let i = 0; i < env().apiAuthFailuresPerIp; i++) await other.consume(client);
    } finally {
      elsewhere.disconnect();
    }
    expect(await authLockout(client)).toBeNull();
    expect(await countAuthFailure(client)).toBe(false); // counted past the limit: not the failure that started it
    expect(await authLockout(client)).toMatchObject({ code: "rate-limited", status: 429 });
  });
});

describe("the shared app-only token cache", () => {
  const k = { organizationId: "org-1", appId: "app-1", tenantId: "41463f53-8812-40f4-890f-865bf6e35190" };
  const token = `eyJ0eXAiOiJKV1QifQ.${crypto.randomBytes(24).toString("base64url")}.sig`;

  it("holds the token sealed, until five minutes before it expires, and gives it back", async () => {
    const expiresAt = new Date(Date.now() + 3600_000);
    await storeSharedAppToken(k, { accessToken: token, expiresAt, tenantId: k.tenantId });
    const raw = (await redis()!.get(redisKey("app-token", k.organizationId, k.appId, k.tenantId)))!;
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(token.split(".")[1]!);
    const ttl = await redis()!.pttl(redisKey("app-token", k.organizationId, k.appId, k.tenantId));
    expect(ttl).toBeGreaterThan(3600_000 - 300_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(3600_000 - 300_000);
    expect(await readSharedAppToken(k)).toEqual({ accessToken: token, expiresAt, tenantId: k.tenantId });
  });

  it("a sealed value copied under another organization's key does not open there", async () => {
    const raw = (await redis()!.get(redisKey("app-token", k.organizationId, k.appId, k.tenantId)))!;
    const other = { ...k, organizationId: "org-2" };
    await redis()!.set(redisKey("app-token", other.organizationId, other.appId, other.tenantId), raw, "PX", 60_000);
    expect(await readSharedAppToken(other)).toBeNull();
  });

  it("a token with five minutes or less left is not stored", async () => {
    const near = { ...k, appId: "app-near" };
    await storeSharedAppToken(near, {
      accessToken: token,
      expiresAt: new Date(Date.now() + 299_000),
      tenantId: k.tenantId,
    });
    expect(await redis()!.exists(redisKey("app-token", near.organizationId, near.appId, near.tenantId))).toBe(0);
    expect(await readSharedAppToken(near)).toBeNull();
  });
});

describe("once per interval across instances", () => {
  it("the first caller does the work; the others within the interval do not", async () => {
    const name = `key-used:${crypto.randomBytes(4).toString("hex")}`;
    expect(await oncePer(name, 60_000)).toBe(true);
    expect(await oncePer(name, 60_000)).toBe(false);
    expect(await oncePer(`${name}-other`, 60_000)).toBe(true);
  });
});
