// Microsoft app-only tokens cached for every instance in Redis (when configured), by organization, app
// and tenant, until five minutes before they expire. A token is a secret at rest there too: sealed
// with the keyring (lib/crypto/aead.ts) and bound to its organization, app and tenant, so a value
// copied to another key does not open. Redis being away costs a token request, never an answer.
import { decryptSecret, encryptSecret, type SecretContext } from "@/lib/crypto/aead";
import { redis, redisKey } from "@/lib/redis/client";
import { logger } from "@/lib/logger";

export type AppTokenKey = { organizationId: string; appId: string; tenantId: string };
export type CachedAppToken = { accessToken: string; expiresAt: Date; tenantId: string };

/** served from a cache only while it has more than this left */
export const APP_TOKEN_MARGIN_MS = 300_000;

const context = (k: AppTokenKey): SecretContext => ({
  table: "AppOnlyTokenCache",
  organizationId: k.organizationId,
  rowId: `${k.appId}.${k.tenantId}`,
  field: "accessToken",
});
const keyOf = (k: AppTokenKey) => redisKey("app-token", k.organizationId, k.appId, k.tenantId);

/** The shared cache's token for `k`, or null (none, too close to expiry, no Redis, Redis away). */
export async function readSharedAppToken(k: AppTokenKey): Promise<CachedAppToken | null> {
  const client = redis();
  if (!client || client.status !== "ready") return null;
  try {
    const raw = await client.get(keyOf(k));
    if (!raw) return null;
    const v = JSON.parse(raw) as { token: string; expiresAt: number };
    if (v.expiresAt - Date.now() <= APP_TOKEN_MARGIN_MS) return null;
    return { accessToken: decryptSecret(v.token, context(k)), expiresAt: new Date(v.expiresAt), tenantId: k.tenantId };
  } catch (err) {
    // unreachable, or a value sealed under a key that is no longer configured: ask the provider
    logger.debug({ err: { message: (err as Error).message } }, "shared app-only token cache not read");
    return null;
  }
}

/** Puts `t` in the shared cache until five minutes before it expires (best effort). */
export async function storeSharedAppToken(k: AppTokenKey, t: CachedAppToken): Promise<void> {
  const client = redis();
  const ttlMs = t.expiresAt.getTime() - Date.now() - APP_TOKEN_MARGIN_MS;
  if (!client || client.status !== "ready" || ttlMs <= 0) return;
  const value = JSON.stringify({ token: encryptSecret(t.accessToken, context(k)), expiresAt: t.expiresAt.getTime() });
  await client.set(keyOf(k), value, "PX", Math.floor(ttlMs)).catch((err: Error) => {
    logger.debug({ err: { message: err.message } }, "shared app-only token cache not written");
  });
}
