// Disconnect: revoke at the provider where it has a revocation endpoint (best effort), delete the
// tokens, close open consent links, mark the connection revoked. The audit trail stays.
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { renderTemplate, applyHostOverrides, hostOverridesFromMetadata } from "@/lib/providers/resolve-url";
import { egressFetch } from "@/lib/oauth/egress";
import { openToken } from "@/lib/tokens/token-secrets";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { logger } from "@/lib/logger";

export async function disconnectConnection({
  db,
  organizationId,
  connectionId,
  actor,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  actor: Actor;
}) {
  const c = await db.connection.findFirst({ where: { id: connectionId, organizationId }, include: { tokenSet: true } });
  if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
  const provider = PROVIDERS.get(c.providerId);
  let revokedAtProvider: boolean | null = null;
  if (provider?.revocationUrl && c.tokenSet) {
    const settings = JSON.parse(c.settings) as Record<string, unknown>;
    const metadata = JSON.parse(c.metadata) as Record<string, string>;
    const hostOverrides = hostOverridesFromMetadata(metadata);
    const url = renderTemplate(provider, provider.revocationUrl, { settings, metadata, hostOverrides });
    const token = c.tokenSet.refreshTokenEnc
      ? openToken({ organizationId, connectionId }, "refreshTokenEnc", c.tokenSet.refreshTokenEnc)
      : openToken({ organizationId, connectionId }, "accessTokenEnc", c.tokenSet.accessTokenEnc);
    if (url) {
      try {
        const res = await egressFetch(applyHostOverrides(url), {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token }).toString(),
          timeoutMs: 10_000,
        });
        revokedAtProvider = res.status >= 200 && res.status < 300;
      } catch (e) {
        logger.warn({ connectionId, err: { message: (e as Error).message } }, "revocation at the provider failed");
        revokedAtProvider = false;
      }
    }
  }
  await db.$transaction(async (tx) => {
    await tx.tokenSet.deleteMany({ where: { connectionId, organizationId } });
    await tx.consentRequest.updateMany({
      where: { connectionId, organizationId, usedAt: null, revokedAt: null },
      data: { revokedAt: new Date(), stateHash: null },
    });
    await tx.connection.update({
      where: { id: connectionId },
      data: {
        status: "revoked",
        nextRefreshAt: null,
        expiresAt: null,
        refreshTokenExpiresAt: null,
        leaseOwner: null,
        leaseUntil: null,
      },
    });
  });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connection.revoked",
      outcome: "success",
      target: { type: "connection", id: connectionId },
      details: { revokedAtProvider },
    },
    db,
  );
  await emitConnectionEvent({
    db,
    organizationId,
    connectionId,
    type: "connection.revoked",
    data: { revoked_at_provider: revokedAtProvider },
  });
  return { revokedAtProvider };
}
