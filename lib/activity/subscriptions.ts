// Activity API subscriptions of a Microsoft 365 connection: start (with Consentry's listener as the
// webhook), stop and list, kept as one row per content type. Microsoft is the truth: an "already
// enabled" answer is read back and adopted, and the rows say what Microsoft last said.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { decryptSecret, encryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import {
  ActivityApiError,
  CONTENT_TYPES,
  activityTarget,
  callFeed,
  feedUrl,
  type ActivityTarget,
  type TContentType,
} from "@/lib/activity/management-api";

/** Microsoft asks that start calls for one content type be at least this far apart. */
export const START_SPACING_MS = 15 * 60_000;

export type SubscriptionRow = {
  content_type: string;
  status: "enabled" | "disabled" | "error" | "not_started";
  webhook_status: string;
  started_at: string | null;
  last_notification_at: string | null;
  last_polled_at: string | null;
  last_error: { code: string; message: string; at: string } | null;
};

export function listenerUrl(listenerId: string): string {
  return `${env().publicUrl}/api/webhooks/microsoft-365/${listenerId}`;
}

/**
 * Whether Microsoft could call Consentry back: a public https CONSENTRY_URL (or, in tests, the loopback
 * allowance). Otherwise subscriptions start without a webhook and the catch-up poll alone collects content.
 */
export function webhookReachable(): boolean {
  const u = new URL(env().publicUrl);
  if (env().egress.allowLoopback) return true;
  return u.protocol === "https:" && !["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
}

/** The connection's listener: created once, with a random id (in the address) and a random authId (encrypted). */
export async function ensureListener(db: Db, organizationId: string, connectionId: string) {
  const found = await db.activityListener.findUnique({ where: { connectionId } });
  if (found) return { id: found.id, authIdEnc: found.authIdEnc, authId: null as string | null };
  const id = crypto.randomBytes(24).toString("base64url");
  const authId = crypto.randomBytes(32).toString("base64url");
  const authIdEnc = encryptSecret(
    authId,
    contextFor("ActivityListener", { id, organizationId, connectionId }, "authIdEnc"),
  );
  try {
    await db.activityListener.create({ data: { id, organizationId, connectionId, authIdEnc } });
    return { id, authIdEnc, authId };
  } catch {
    // created meanwhile by another request: use that one
    const again = await db.activityListener.findUniqueOrThrow({ where: { connectionId } });
    return { id: again.id, authIdEnc: again.authIdEnc, authId: null };
  }
}

function serialize(r: {
  contentType: string;
  status: string;
  webhookStatus: string;
  startedAt: Date | null;
  lastNotificationAt: Date | null;
  lastPolledAt: Date | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  lastErrorAt: Date | null;
}): SubscriptionRow {
  return {
    content_type: r.contentType,
    status: r.status as SubscriptionRow["status"],
    webhook_status: r.webhookStatus,
    started_at: r.startedAt?.toISOString() ?? null,
    last_notification_at: r.lastNotificationAt?.toISOString() ?? null,
    last_polled_at: r.lastPolledAt?.toISOString() ?? null,
    last_error:
      r.lastErrorCode && r.lastErrorAt
        ? { code: r.lastErrorCode, message: r.lastErrorMessage ?? "", at: r.lastErrorAt.toISOString() }
        : null,
  };
}

/** One row per content type, those never started included (status `not_started`). */
export async function listSubscriptions(
  db: Db,
  organizationId: string,
  connectionId: string,
): Promise<SubscriptionRow[]> {
  await activityTarget(db, organizationId, connectionId);
  const rows = await db.activitySubscription.findMany({ where: { connectionId, organizationId } });
  return CONTENT_TYPES.map((ct) => {
    const r = rows.find((x) => x.contentType === ct);
    return r
      ? serialize(r)
      : {
          content_type: ct,
          status: "not_started" as const,
          webhook_status: "none",
          started_at: null,
          last_notification_at: null,
          last_polled_at: null,
          last_error: null,
        };
  });
}

type ListedSubscription = { contentType?: unknown; status?: unknown; webhook?: { status?: unknown } | null };

async function readBack(db: Db, t: ActivityTarget): Promise<ListedSubscription[]> {
  const res = await callFeed(db, t, "GET", feedUrl(t, "subscriptions/list"));
  return Array.isArray(res.json) ? (res.json as ListedSubscription[]) : [];
}

async function upsertRow(db: Db, t: ActivityTarget, contentType: string, data: Record<string, unknown>) {
  await db.activitySubscription.upsert({
    where: { connectionId_contentType: { connectionId: t.connectionId, contentType } },
    create: { organizationId: t.organizationId, connectionId: t.connectionId, contentType, status: "error", ...data },
    update: data,
  });
}

const webhookStatusOf = (s: ListedSubscription | undefined) =>
  typeof s?.webhook?.status === "string" ? String(s.webhook.status).toLowerCase() : "none";

/**
 * Starts each content type with the app-only token. A type started less than 15 minutes ago is not
 * started again (its row stays as it is, with a note); "already enabled" is read back and adopted;
 * Microsoft's refusals are kept on the row with what to do.
 */
export async function startSubscriptions({
  db,
  organizationId,
  connectionId,
  contentTypes,
  actor,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  contentTypes: TContentType[];
  actor: Actor;
}): Promise<SubscriptionRow[]> {
  const t = await activityTarget(db, organizationId, connectionId);
  const listener = await ensureListener(db, organizationId, connectionId);
  const authId =
    listener.authId ??
    decryptSecret(
      listener.authIdEnc,
      contextFor("ActivityListener", { id: listener.id, organizationId, connectionId }, "authIdEnc"),
    );
  const webhook = webhookReachable() ? { address: listenerUrl(listener.id), authId } : null;
  const existing = await db.activitySubscription.findMany({ where: { connectionId, organizationId } });
  const now = new Date();
  for (const contentType of [...new Set(contentTypes)]) {
    const row = existing.find((r) => r.contentType === contentType);
    if (row?.lastStartAt && now.getTime() - row.lastStartAt.getTime() < START_SPACING_MS) {
      if (row.status !== "enabled")
        await upsertRow(db, t, contentType, {
          lastErrorCode: "start_spacing",
          lastErrorMessage: `Microsoft asks for 15 minutes between start calls; try again after ${new Date(row.lastStartAt.getTime() + START_SPACING_MS).toISOString()}.`,
          lastErrorAt: now,
        });
      continue;
    }
    try {
      const start = (hook: typeof webhook) =>
        callFeed(
          db,
          t,
          "POST",
          feedUrl(t, "subscriptions/start", { contentType }),
          hook ? { webhook: hook } : undefined,
        );
      let res;
      let unvalidated: ActivityApiError | null = null;
      try {
        res = await start(webhook);
      } catch (e) {
        // Microsoft could not reach the listener: the subscription is started without it, and the
        // catch-up poll alone collects the content
        if (!(e instanceof ActivityApiError && e.code === "AF20021" && webhook)) throw e;
        unvalidated = e;
        res = await start(null);
      }
      const started = (res.json ?? {}) as ListedSubscription;
      await upsertRow(db, t, contentType, {
        status: "enabled",
        webhookStatus: webhook && !unvalidated ? webhookStatusOf(started) : "none",
        startedAt: now,
        lastStartAt: now,
        nextPollAt: now,
        pollAttempts: 0,
        lastErrorCode: unvalidated ? unvalidated.code : null,
        lastErrorMessage: unvalidated ? unvalidated.message : null,
        lastErrorAt: unvalidated ? now : null,
      });
    } catch (e) {
      if (!(e instanceof ActivityApiError)) throw e;
      if (e.failure === "already_enabled") {
        // enabled before (by Consentry or anyone with the app): adopt what Microsoft has
        const listed = (await readBack(db, t)).find((s) => s.contentType === contentType);
        await upsertRow(db, t, contentType, {
          status: "enabled",
          webhookStatus: webhookStatusOf(listed),
          startedAt: row?.startedAt ?? now,
          lastStartAt: now,
          nextPollAt: now,
          lastErrorCode: null,
          lastErrorMessage: null,
          lastErrorAt: null,
        });
        continue;
      }
      await upsertRow(db, t, contentType, {
        // a row that was enabled stays enabled when Microsoft is away or busy; anything else is an error
        ...(e.failure === "retryable" && row?.status === "enabled" ? {} : { status: "error" }),
        lastStartAt: now,
        lastErrorCode: e.code,
        lastErrorMessage: e.message,
        lastErrorAt: now,
      });
    }
  }
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "activity.subscriptions_started",
      outcome: "success",
      target: { type: "connection", id: connectionId },
      details: { content_types: contentTypes, webhook: Boolean(webhook) },
    },
    db,
  );
  return listSubscriptions(db, organizationId, connectionId);
}

export async function stopSubscription({
  db,
  organizationId,
  connectionId,
  contentType,
  actor,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  contentType: TContentType;
  actor: Actor;
}): Promise<SubscriptionRow[]> {
  const t = await activityTarget(db, organizationId, connectionId);
  const now = new Date();
  try {
    await callFeed(db, t, "POST", feedUrl(t, "subscriptions/stop", { contentType }));
  } catch (e) {
    if (!(e instanceof ActivityApiError)) throw e;
    // nothing to stop at Microsoft: stopped is what was wanted
    if (e.failure !== "not_subscribed")
      throw new AppError("refresh-failed", e.message, {
        retryAfter: e.retryAfterSeconds ?? 60,
        extra: { reason: e.failure, error_code: e.code },
        i18n: { key: "errors.activityRefused", values: { detail: e.message } },
      });
  }
  await upsertRow(db, t, contentType, {
    status: "disabled",
    webhookStatus: "none",
    nextPollAt: null,
    lastErrorCode: null,
    lastErrorMessage: null,
    lastErrorAt: null,
    updatedAt: now,
  });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "activity.subscription_stopped",
      outcome: "success",
      target: { type: "connection", id: connectionId },
      details: { content_type: contentType },
    },
    db,
  );
  return listSubscriptions(db, organizationId, connectionId);
}
