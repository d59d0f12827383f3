// Delete permanently: disconnect first (revoke at the provider, delete the tokens) unless that was
// done already, then remove the connection and, by cascade, its consent requests and Activity API
// rows. The audit trail is kept: audit rows reference the connection by id only.
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { disconnectConnection } from "@/lib/connections/disconnect-connection";

export async function purgeConnection({
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
  const c = await db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: { id: true, name: true, providerId: true, status: true },
  });
  if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
  const disconnected =
    c.status === "revoked" ? null : await disconnectConnection({ db, organizationId, connectionId, actor });
  const { count } = await db.connection.deleteMany({ where: { id: connectionId, organizationId } });
  if (count !== 1)
    throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connection.purged",
      outcome: "success",
      target: { type: "connection", id: connectionId },
      details: { name: c.name, provider: c.providerId },
    },
    db,
  );
  return { disconnected, name: c.name };
}
