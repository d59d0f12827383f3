import type { Db } from "@/lib/db/client";

/**
 * A connection's latest events for its page: consent, refreshes, edits, tests, links. The REST
 * API's call records (`api.*`, one per token fetch) are left out here, or they would be all there
 * is; the audit log filtered by the connection shows them.
 */
export async function listConnectionActivity({
  db,
  organizationId,
  connectionId,
  limit = 20,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  limit?: number;
}) {
  // its consent links and connect sessions are about it too (a revoked link is audited on the link)
  const [requests, sessions] = await Promise.all([
    db.consentRequest.findMany({
      where: { organizationId, connectionId },
      select: { id: true },
      orderBy: { createdAt: "desc" },
      take: 100,
    }),
    db.connectSession.findMany({
      where: { organizationId, connectionId },
      select: { id: true },
      orderBy: { createdAt: "desc" },
      take: 100,
    }),
  ]);
  return db.auditEvent.findMany({
    where: {
      organizationId,
      OR: [
        { targetType: "connection", targetId: connectionId },
        ...(requests.length ? [{ targetType: "consent_request", targetId: { in: requests.map((r) => r.id) } }] : []),
        ...(sessions.length ? [{ targetType: "connect_session", targetId: { in: sessions.map((s) => s.id) } }] : []),
      ],
      NOT: { action: { startsWith: "api." } },
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit,
    select: {
      id: true,
      action: true,
      actorType: true,
      actorLabel: true,
      outcome: true,
      details: true,
      createdAt: true,
    },
  });
}
