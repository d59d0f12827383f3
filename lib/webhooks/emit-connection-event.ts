// Queues a connection event for every subscribed endpoint of the organization. Delivery happens
// on its own loop (lib/webhooks/run-webhook-delivery.ts), nudged at once, so a slow or failing
// endpoint never blocks refreshing.
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import type { TWebhookEvent } from "@/lib/webhooks/events";
import { notifyWebhookQueued } from "@/lib/webhooks/webhook-queued";

export async function emitConnectionEvent({
  db,
  organizationId,
  connectionId,
  type,
  data = {},
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  type: TWebhookEvent;
  data?: Record<string, unknown>;
}) {
  try {
    const endpoints = await db.webhookEndpoint.findMany({
      where: { organizationId, active: true },
      select: { id: true, events: true },
    });
    const subscribed = endpoints.filter((e) => e.events.split(" ").includes(type));
    if (subscribed.length === 0) return;
    const c = await db.connection.findFirst({
      where: { id: connectionId, organizationId },
      select: {
        id: true,
        name: true,
        providerId: true,
        status: true,
        externalTenantId: true,
        expiresAt: true,
        refreshTokenExpiresAt: true,
        lastErrorCode: true,
        customerMetadata: true,
      },
    });
    if (!c) return;
    const payload = {
      type,
      created_at: new Date().toISOString(),
      organization_id: organizationId,
      data: {
        connection: {
          id: c.id,
          name: c.name,
          provider: c.providerId,
          status: c.status,
          tenant_id: c.externalTenantId,
          expires_at: c.expiresAt?.toISOString() ?? null,
          refresh_token_expires_at: c.refreshTokenExpiresAt?.toISOString() ?? null,
          last_error_code: c.lastErrorCode,
          metadata: JSON.parse(c.customerMetadata) as Record<string, string>,
        },
        ...data,
      },
    };
    await db.webhookDelivery.createMany({
      data: subscribed.map((e) => ({
        organizationId,
        endpointId: e.id,
        eventType: type,
        payload: JSON.stringify({ id: `evt_${crypto.randomUUID()}`, ...payload }),
      })),
    });
    notifyWebhookQueued();
  } catch (err) {
    logger.error({ err: { message: (err as Error).message }, type, connectionId }, "webhook event not queued");
  }
}
