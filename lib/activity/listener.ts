// POST /api/webhooks/microsoft-365/{listener id}: Microsoft's webhook validation requests and content
// notifications for one connection. A notification is accepted only with the connection's authId in
// Webhook-AuthID (compared in constant time), its tenant and its app in every item, and contentUris
// on the tenant's own feed; what is new is stored before the 200 (Microsoft stops retrying on a 200)
// and announced to the organization's webhooks after it. Anything else is refused with 401 — an
// unknown listener exactly like a wrong authId — and audited, until an address has been refused too
// often: then it gets 429 without a database read.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { logger } from "@/lib/logger";
import { decryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { recordAuditEvent } from "@/lib/audit/record-audit-event";
import { createLimiter, takePoint } from "@/lib/limits/limiter";
import { activityTarget } from "@/lib/activity/management-api";
import { announce, parseAvailable, storeAvailable } from "@/lib/activity/content";

/** Microsoft's notification bodies are small; anything larger is refused unread. */
export const LISTENER_MAX_BODY = 1024 * 1024;
/** refused notifications per client address and minute before the address gets 429 unread */
const REFUSALS_PER_MINUTE = 30;

export type ListenerRequest = {
  listenerId: string;
  headers: { get(name: string): string | null };
  /** the body, or null when it was longer than LISTENER_MAX_BODY */
  body: string | null;
  ip: string | null;
};
export type ListenerResponse = { status: number; headers: Record<string, string>; body: string };

let refusals: ReturnType<typeof createLimiter> | undefined;
const limiter = () =>
  (refusals ??= createLimiter({ name: "activity-listener-refusals", points: REFUSALS_PER_MINUTE, duration: 60 }));

const answer = (status: number, body: Record<string, unknown> = {}): ListenerResponse => ({
  status,
  headers: { "content-type": "application/json", "cache-control": "no-store" },
  body: JSON.stringify(body),
});
const UNAUTHORIZED = () => answer(401, { error: "unauthorized" });

function sameSecret(a: string, b: string): boolean {
  const x = crypto.createHash("sha256").update(a).digest();
  const y = crypto.createHash("sha256").update(b).digest();
  return crypto.timingSafeEqual(x, y);
}

export async function handleActivityWebhook(db: Db, req: ListenerRequest): Promise<ListenerResponse> {
  const client = req.ip ?? "unknown";
  const blocked = await limiter().get(client);
  if (blocked && blocked.consumedPoints > REFUSALS_PER_MINUTE)
    return { ...answer(429, { error: "too_many_requests" }), headers: { ...answer(429).headers, "retry-after": "60" } };

  const refuse = async (reason: string, organizationId: string | null, connectionId: string | null, status = 401) => {
    if ((await takePoint(limiter(), client)) === null)
      await recordAuditEvent(
        {
          organizationId,
          actor: { type: "anonymous", label: "Microsoft 365 webhook" },
          action: "activity.notification_rejected",
          outcome: "denied",
          ...(connectionId ? { target: { type: "connection", id: connectionId } } : {}),
          ip: req.ip ?? undefined,
          details: { reason },
        },
        db,
      );
    return status === 401 ? UNAUTHORIZED() : answer(status, { error: reason });
  };

  const listener = /^[A-Za-z0-9_-]{20,64}$/.test(req.listenerId)
    ? await db.activityListener.findUnique({ where: { id: req.listenerId } })
    : null;
  if (!listener) return refuse("unknown_listener", null, null);
  if (req.body === null) return refuse("body_too_large", listener.organizationId, listener.connectionId, 413);

  // Microsoft's validation request when a subscription is started with this address: 200 at once
  if (req.headers.get("webhook-validationcode") !== null) return answer(200);

  const authId = decryptSecret(listener.authIdEnc, contextFor("ActivityListener", listener, "authIdEnc"));
  const sent = req.headers.get("webhook-authid");
  if (sent === null || !sameSecret(sent, authId))
    return refuse("wrong_auth_id", listener.organizationId, listener.connectionId);

  let items: unknown;
  try {
    items = JSON.parse(req.body);
  } catch {
    return refuse("not_json", listener.organizationId, listener.connectionId, 400);
  }
  if (!Array.isArray(items) || items.length === 0 || items.length > 10_000)
    return refuse("not_a_notification", listener.organizationId, listener.connectionId, 400);
  let target;
  try {
    target = await activityTarget(db, listener.organizationId, listener.connectionId);
  } catch {
    // the connection lost its tenant (disconnected): nothing can belong to it any more
    return refuse("connection_not_connected", listener.organizationId, listener.connectionId);
  }
  const parsed = [];
  for (const item of items as Array<Record<string, unknown>>) {
    if (String(item?.tenantId ?? "").toLowerCase() !== target.tenantId.toLowerCase())
      return refuse("wrong_tenant", listener.organizationId, listener.connectionId);
    if (String(item?.clientId ?? "").toLowerCase() !== target.clientId.toLowerCase())
      return refuse("wrong_client", listener.organizationId, listener.connectionId);
    const c = parseAvailable(target, item);
    if (!c) return refuse("invalid_item", listener.organizationId, listener.connectionId, 400);
    parsed.push(c);
  }
  const fresh = await storeAvailable(db, target, parsed, "notification");
  await db.activitySubscription.updateMany({
    where: { connectionId: target.connectionId, contentType: { in: [...new Set(parsed.map((c) => c.contentType))] } },
    data: { lastNotificationAt: new Date() },
  });
  // announced after the answer: Microsoft waits for nobody's webhook but ours
  if (fresh.length)
    setImmediate(
      () =>
        void announce(db, target, fresh).catch((e: Error) =>
          logger.error(
            { err: { message: e.message }, connectionId: target.connectionId },
            "activity announcement failed",
          ),
        ),
    );
  return answer(200, { stored: fresh.length });
}
