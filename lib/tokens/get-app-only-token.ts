// Microsoft app-only tokens for a connection's stored tenant, cached until five minutes before expiry
// (each one costs a signed assertion and a round trip to Azure AD): in this process, and for every
// instance in Redis when it is configured (lib/tokens/app-token-cache.ts).
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { requestAppOnlyToken } from "@/lib/oauth/app-only-token";
import { TokenEndpointError } from "@/lib/oauth/token-errors";
import { getAppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import {
  APP_TOKEN_MARGIN_MS,
  readSharedAppToken,
  storeSharedAppToken,
  type CachedAppToken,
} from "@/lib/tokens/app-token-cache";

const cache = new Map<string, CachedAppToken>();
const inFlight = new Map<string, Promise<CachedAppToken>>();

export async function getAppOnlyToken({
  db,
  organizationId,
  connectionId,
  force = false,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  /** the API refused the cached token: ask Azure AD for another (skipping both caches) */
  force?: boolean;
}) {
  const c = await db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: { id: true, providerId: true, status: true, externalTenantId: true, oauthAppId: true },
  });
  if (!c)
    throw new AppError("not-found", `No connection ${connectionId} in this organization.`, {
      i18n: { key: "errors.connectionNotFound" },
    });
  const provider = PROVIDERS.get(c.providerId);
  if (!provider?.appOnly)
    throw new AppError("bad-request", `${provider?.name ?? c.providerId} has no app-only tokens.`, {
      i18n: { key: "errors.noAppOnlyTokens", values: { provider: provider?.name ?? c.providerId } },
    });
  if (!c.externalTenantId || !c.oauthAppId || c.status === "revoked" || c.status === "pending_consent") {
    throw new AppError("needs-reconsent", "The tenant has not consented yet (no tenant id): send a consent link.", {
      extra: { reason: c.status },
      i18n: { key: "errors.tenantNotConsented" },
    });
  }
  // one app's token for one tenant, whichever connection asks
  const shared = { organizationId, appId: c.oauthAppId, tenantId: c.externalTenantId };
  const key = `${organizationId}:${c.oauthAppId}:${c.externalTenantId}`;
  const hit = cache.get(key);
  if (force) cache.delete(key);
  else if (hit && hit.expiresAt.getTime() - Date.now() > APP_TOKEN_MARGIN_MS) return hit;
  let p = inFlight.get(key);
  if (!p) {
    p = (async () => {
      try {
        const fromRedis = force ? null : await readSharedAppToken(shared);
        if (fromRedis) {
          cache.set(key, fromRedis);
          return fromRedis;
        }
        const app = await getAppCredentials({ db, appId: c.oauthAppId!, organizationId });
        const t = await requestAppOnlyToken({ provider, app, tenantId: c.externalTenantId! });
        const v = { accessToken: t.accessToken, expiresAt: t.expiresAt, tenantId: c.externalTenantId! };
        cache.set(key, v);
        // awaited (it never fails, and waits at most a command timeout): another instance asked next finds it
        await storeSharedAppToken(shared, v);
        return v;
      } catch (e) {
        if (e instanceof TokenEndpointError) {
          if (e.failureClass === "needs_reconsent" || e.failureClass === "consent_missing")
            throw new AppError("needs-reconsent", "The tenant no longer grants this app access: send a consent link.", {
              extra: { reason: e.failureClass, error_code: e.errorCode },
              i18n: { key: "errors.tenantAccessWithdrawn" },
            });
          throw new AppError("refresh-failed", `${provider.name} did not issue an app-only token.`, {
            retryAfter: e.details.retryAfterSeconds ?? 30,
            extra: { reason: e.failureClass, error_code: e.errorCode },
            i18n: { key: "errors.appTokenRefused", values: { provider: provider.name } },
          });
        }
        throw e;
      } finally {
        inFlight.delete(key);
      }
    })();
    inFlight.set(key, p);
  }
  return p;
}
