// Registers a webhook endpoint for an organization. The signing secret is generated here, returned
// once, and stored encrypted.
import crypto from "node:crypto";
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { encryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { checkOutboundUrls } from "@/lib/validation/check-outbound-urls";
import { zUrl } from "@/lib/validation/url-fields";
import { WEBHOOK_EVENTS } from "@/lib/webhooks/events";
import { newWebhookSecret } from "@/lib/webhooks/signature";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

export const ZWebhookInput = z.object({
  url: zUrl("outbound"),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1, "validation.eventsRequired"),
});

export async function createWebhookEndpoint({
  db,
  organizationId,
  input,
  actor,
}: {
  db: Db;
  organizationId: string;
  input: unknown;
  actor: Actor;
}) {
  const parsed = ZWebhookInput.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const refused = await checkOutboundUrls([{ path: "url", url: parsed.data.url }]);
  if (refused.length)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: refused,
      i18n: { key: "errors.checkFields" },
    });
  if ((await db.webhookEndpoint.count({ where: { organizationId } })) >= 20)
    throw new AppError("conflict", "At most 20 webhook endpoints per organization.", {
      i18n: { key: "errors.webhookLimit", values: { max: 20 } },
    });
  const id = crypto.randomUUID();
  const secret = newWebhookSecret();
  await db.webhookEndpoint.create({
    data: {
      id,
      organizationId,
      url: parsed.data.url,
      events: [...new Set(parsed.data.events)].join(" "),
      secretEnc: encryptSecret(secret, contextFor("WebhookEndpoint", { id, organizationId }, "secretEnc")),
    },
  });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "webhook.created",
      outcome: "success",
      target: { type: "webhook", id },
      details: { url: parsed.data.url, events: parsed.data.events },
    },
    db,
  );
  return { id, secret };
}

export async function deleteWebhookEndpoint({
  db,
  organizationId,
  endpointId,
  actor,
}: {
  db: Db;
  organizationId: string;
  endpointId: string;
  actor: Actor;
}) {
  const { count } = await db.webhookEndpoint.deleteMany({ where: { id: endpointId, organizationId } });
  if (count !== 1) throw new AppError("not-found", "Webhook not found", { i18n: { key: "errors.webhookNotFound" } });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "webhook.deleted",
      outcome: "success",
      target: { type: "webhook", id: endpointId },
    },
    db,
  );
}
