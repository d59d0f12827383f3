// Disconnect: revoke at the provider where its catalogue entry says how (best effort), delete the
// tokens whatever that gave, close open consent links, mark the connection revoked. The audit trail stays.
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { revokeAtProvider, type TRevocationResult } from "@/lib/connections/revoke-at-provider";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";

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
}): Promise<{ revocation: TRevocationResult; revokedAtProvider: boolean | null }> {
  const c = await db.connection.findFirst({ where: { id: connectionId, organizationId }, include: { tokenSet: true } });
  if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
  const revocation = await revokeAtProvider({
    db,
    organizationId,
    connection: c,
    settings: JSON.parse(c.settings) as Record<string, unknown>,
    metadata: JSON.parse(c.metadata) as Record<string, string>,
  });
  // the earlier answer's shape: true revoked, false tried and failed, null not tried
  const revokedAtProvider = revocation.outcome === "revoked" ? true : revocation.outcome === "failed" ? false : null;
  await db.$transaction(async (tx) => {
    await tx.tokenSet.deleteMany({ where: { connectionId, organizationId } });
    await tx.consentRequest.updateMany({
      where: { connectionId, organizationId, usedAt: null, revokedAt: null },
      data: { revokedAt: new Date() },
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
      details: {
        revocation: revocation.outcome,
        ...(revocation.reason ? { revocationReason: revocation.reason } : {}),
      },
    },
    db,
  );
  await emitConnectionEvent({
    db,
    organizationId,
    connectionId,
    type: "connection.revoked",
    data: { revocation, revoked_at_provider: revokedAtProvider },
  });
  return { revocation, revokedAtProvider };
}
