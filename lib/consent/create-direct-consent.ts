// "Connect now": a signed-in user consents in this browser; no shareable link is created.
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";

export async function createDirectConsent({
  db,
  organizationId,
  connectionId,
  userId,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  userId: string;
}) {
  const c = await db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: { id: true, providerId: true, status: true },
  });
  if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
  return db.consentRequest.create({
    data: {
      organizationId,
      connectionId,
      providerId: c.providerId,
      expiresAt: new Date(Date.now() + 3600_000),
      createdByUserId: userId,
    },
  });
}
