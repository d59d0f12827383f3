// A consent link for a tenant admin without an account: unguessable (256-bit token, only its hash is
// stored), expiring (CONSENTRY_CONSENT_LINK_TTL_HOURS, 7 days by default), revocable, single-use.
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { randomToken, sha256 } from "@/lib/oauth/pkce";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

export function consentLinkUrl(token: string): string {
  return `${env().publicUrl}/consent/${token}`;
}

export async function createConsentLink({
  db,
  organizationId,
  connectionId,
  actor,
  createdByUserId,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  actor: Actor;
  createdByUserId?: string;
}) {
  const connection = await db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: { id: true, providerId: true, status: true },
  });
  if (!connection)
    throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
  const token = randomToken(32);
  const expiresAt = new Date(Date.now() + env().consentLinkTtlHours * 3600_000);
  const request = await db.consentRequest.create({
    data: {
      organizationId,
      connectionId,
      providerId: connection.providerId,
      linkTokenHash: sha256(token),
      expiresAt,
      createdByUserId: createdByUserId ?? null,
    },
  });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "consent_link.created",
      outcome: "success",
      target: { type: "connection", id: connectionId },
      details: { consentRequestId: request.id, expiresAt: expiresAt.toISOString() },
    },
    db,
  );
  return { id: request.id, url: consentLinkUrl(token), expiresAt };
}

export async function revokeConsentLink({
  db,
  organizationId,
  consentRequestId,
  actor,
}: {
  db: Db;
  organizationId: string;
  consentRequestId: string;
  actor: Actor;
}) {
  // The state of a flow in progress is kept: its callback then finds the request and is refused as
  // link_closed ("ask for a new link"), audited in this organization, instead of an unknown state.
  const { count } = await db.consentRequest.updateMany({
    where: { id: consentRequestId, organizationId, revokedAt: null, usedAt: null },
    data: { revokedAt: new Date() },
  });
  if (count !== 1)
    throw new AppError("not-found", "Consent link not found or no longer open", {
      i18n: { key: "errors.linkNotOpen" },
    });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "consent_link.revoked",
      outcome: "success",
      target: { type: "consent_request", id: consentRequestId },
    },
    db,
  );
}
