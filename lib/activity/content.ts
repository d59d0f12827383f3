// Content blobs Microsoft made available, however Consentry learnt of them (a notification or the
// catch-up poll): stored once per (connection, contentId), announced once to the organization's
// webhooks as `activity.content_available`, listed for jobs oldest first, acknowledged, pruned.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { CONTENT_TYPES, isOwnFeedUrl, type ActivityTarget } from "@/lib/activity/management-api";

export type AvailableContent = {
  contentType: string;
  contentId: string;
  contentUri: string;
  contentCreated: Date;
  contentExpiration: Date;
};

const CONTENT_ID = /^[A-Za-z0-9$._\-!]{1,400}$/;

/**
 * One item of a notification or of a content listing, checked: a known content type, an id of sane
 * shape, dates, and a contentUri on the tenant's own feed (it is later fetched with the app-only token).
 */
export function parseAvailable(t: ActivityTarget, item: unknown): AvailableContent | null {
  if (!item || typeof item !== "object") return null;
  const o = item as Record<string, unknown>;
  const created = typeof o.contentCreated === "string" ? new Date(o.contentCreated) : null;
  const expires = typeof o.contentExpiration === "string" ? new Date(o.contentExpiration) : null;
  if (
    typeof o.contentType !== "string" ||
    !(CONTENT_TYPES as readonly string[]).includes(o.contentType) ||
    typeof o.contentId !== "string" ||
    !CONTENT_ID.test(o.contentId) ||
    typeof o.contentUri !== "string" ||
    !isOwnFeedUrl(t, o.contentUri) ||
    !created ||
    Number.isNaN(created.getTime()) ||
    !expires ||
    Number.isNaN(expires.getTime())
  )
    return null;
  return {
    contentType: o.contentType,
    contentId: o.contentId,
    contentUri: o.contentUri,
    contentCreated: created,
    contentExpiration: expires,
  };
}

/**
 * Stores what is new; returns what was new. The unique (connection, contentId) decides: Microsoft's
 * retries and the poll finding what a notification brought store nothing twice, and of two instances
 * storing one blob at once only one announces it.
 */
export async function storeAvailable(
  db: Db,
  t: ActivityTarget,
  items: AvailableContent[],
  source: "notification" | "poll",
): Promise<AvailableContent[]> {
  if (items.length === 0) return [];
  const known = new Set(
    (
      await db.activityContent.findMany({
        where: { connectionId: t.connectionId, contentId: { in: items.map((c) => c.contentId) } },
        select: { contentId: true },
      })
    ).map((r) => r.contentId),
  );
  const fresh: AvailableContent[] = [];
  for (const c of items) {
    if (known.has(c.contentId)) continue;
    known.add(c.contentId);
    try {
      await db.activityContent.create({
        data: { id: crypto.randomUUID(), organizationId: t.organizationId, connectionId: t.connectionId, source, ...c },
      });
      fresh.push(c);
    } catch (e) {
      // stored meanwhile (another instance, a notification racing the poll)
      if ((e as { code?: unknown }).code !== "P2002") throw e;
    }
  }
  return fresh;
}

/** Announces stored content to the organization's webhooks (never the contentUri). */
export async function announce(db: Db, t: ActivityTarget, items: AvailableContent[]) {
  for (const c of items)
    await emitConnectionEvent({
      db,
      organizationId: t.organizationId,
      connectionId: t.connectionId,
      type: "activity.content_available",
      data: {
        content: {
          content_type: c.contentType,
          content_id: c.contentId,
          created_at: c.contentCreated.toISOString(),
          expires_at: c.contentExpiration.toISOString(),
        },
      },
    });
}

export type ContentOut = { content_id: string; content_type: string; created_at: string; expires_at: string };

/** Unacknowledged, unexpired blobs, oldest first; `after` is the content_id of the last one a job has seen. */
export async function listContent({
  db,
  organizationId,
  connectionId,
  contentType,
  after,
  limit,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  contentType?: string;
  after?: string;
  limit: number;
}): Promise<{ data: ContentOut[]; next_after: string | null }> {
  const where = {
    organizationId,
    connectionId,
    acknowledgedAt: null,
    contentExpiration: { gt: new Date() },
    ...(contentType ? { contentType } : {}),
  };
  let cursorWhere = {};
  if (after) {
    const a = await db.activityContent.findFirst({
      where: { organizationId, connectionId, contentId: after },
      select: { contentCreated: true, id: true },
    });
    if (!a)
      throw new AppError("validation", "Unknown `after`.", {
        errors: [{ path: "after", message: "Not a content_id of this connection." }],
      });
    cursorWhere = {
      OR: [{ contentCreated: { gt: a.contentCreated } }, { contentCreated: a.contentCreated, id: { gt: a.id } }],
    };
  }
  const rows = await db.activityContent.findMany({
    where: { ...where, ...cursorWhere },
    orderBy: [{ contentCreated: "asc" }, { id: "asc" }],
    take: limit + 1,
    select: { contentId: true, contentType: true, contentCreated: true, contentExpiration: true },
  });
  const page = rows.slice(0, limit);
  return {
    data: page.map((r) => ({
      content_id: r.contentId,
      content_type: r.contentType,
      created_at: r.contentCreated.toISOString(),
      expires_at: r.contentExpiration.toISOString(),
    })),
    next_after: rows.length > limit ? page[page.length - 1]!.contentId : null,
  };
}

export async function ackContent(db: Db, organizationId: string, connectionId: string, contentId: string) {
  const r = await db.activityContent.updateMany({
    where: { organizationId, connectionId, contentId },
    data: { acknowledgedAt: new Date() },
  });
  if (r.count === 0) throw new AppError("not-found", `No content ${contentId} for this connection.`);
}

/** Acknowledged rows a day after their acknowledgement, and expired rows (Microsoft keeps blobs 7 days). */
export async function pruneContent(db: Db, now = new Date()) {
  const r = await db.activityContent.deleteMany({
    where: {
      OR: [{ contentExpiration: { lte: now } }, { acknowledgedAt: { lte: new Date(now.getTime() - 86_400_000) } }],
    },
  });
  return r.count;
}
