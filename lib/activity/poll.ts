// The catch-up poll: for every enabled subscription that is due, list subscriptions/content in windows
// of at most 24 hours, from where the last poll got to (at most 7 days back, Microsoft's limit) up to
// now, following NextPageUri, and store what is new. It fills whatever notifications missed, and is
// all there is when Microsoft cannot reach the webhook (a local install): nothing depends on the webhook.
//
// A subscription is claimed by moving its nextPollAt forward in one conditional update (a lease), so
// instances never poll one subscription at once. Microsoft 5xx/429: the claim's nextPollAt becomes the
// backoff (Retry-After when given); the subscription itself is left as it is.
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { logger } from "@/lib/logger";
import { backoffMs } from "@/lib/backoff";
import {
  ActivityApiError,
  activityTarget,
  callFeed,
  feedUrl,
  isOwnFeedUrl,
  type ActivityTarget,
} from "@/lib/activity/management-api";
import { announce, parseAvailable, pruneContent, storeAvailable } from "@/lib/activity/content";

const HOUR = 3_600_000;
/** Microsoft: startTime at most 7 days back; a little margin so that a window is never refused for it. */
const LOOKBACK_MS = 7 * 24 * HOUR - 10 * 60_000;
const WINDOW_MS = 24 * HOUR;
/** pages followed per window in one poll (Microsoft pages at 200 items or so) */
const MAX_PAGES = 500;
/** the lease of one poll of one subscription */
const CLAIM_MS = 10 * 60_000;

/** Microsoft's format for startTime/endTime: UTC, to the second, without a zone suffix. */
const at = (d: Date) => d.toISOString().slice(0, 19);

export type PollSummary = { polled: number; stored: number; failed: number; pruned: number };

async function listWindow(db: Db, t: ActivityTarget, contentType: string, start: Date, end: Date) {
  const found = [];
  let url: string | null = feedUrl(t, "subscriptions/content", { contentType, startTime: at(start), endTime: at(end) });
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const res = await callFeed(db, t, "GET", url);
    for (const item of Array.isArray(res.json) ? res.json : []) {
      const c = parseAvailable(t, item);
      if (c) found.push(c);
    }
    const next = res.headers.get("nextpageuri");
    // only ever followed on the tenant's own feed: the app-only token goes with it
    url = next && isOwnFeedUrl(t, next) ? next : null;
  }
  return found;
}

/** Polls one claimed subscription from polledThrough (or 7 days back) to now. */
async function pollOne(
  db: Db,
  row: { id: string; organizationId: string; connectionId: string; contentType: string; polledThrough: Date | null },
  now: Date,
): Promise<number> {
  const t = await activityTarget(db, row.organizationId, row.connectionId);
  let from = new Date(Math.max(row.polledThrough?.getTime() ?? 0, now.getTime() - LOOKBACK_MS));
  let stored = 0;
  while (from < now) {
    const to = new Date(Math.min(from.getTime() + WINDOW_MS, now.getTime()));
    const fresh = await storeAvailable(db, t, await listWindow(db, t, row.contentType, from, to), "poll");
    stored += fresh.length;
    await announce(db, t, fresh);
    // progress is kept window by window: a failure later does not list these again
    await db.activitySubscription.update({ where: { id: row.id }, data: { polledThrough: to } });
    from = to;
  }
  return stored;
}

export async function pollActivity({ db, now = new Date() }: { db: Db; now?: Date }): Promise<PollSummary> {
  const interval = env().activityPollSeconds * 1000;
  const summary: PollSummary = { polled: 0, stored: 0, failed: 0, pruned: 0 };
  const due = await db.activitySubscription.findMany({
    where: { status: "enabled", OR: [{ nextPollAt: null }, { nextPollAt: { lte: now } }] },
    select: {
      id: true,
      organizationId: true,
      connectionId: true,
      contentType: true,
      polledThrough: true,
      nextPollAt: true,
      pollAttempts: true,
    },
    take: 500,
  });
  for (const row of due) {
    // the claim: only the instance that moves nextPollAt from what it read polls this row
    const claimed = await db.activitySubscription.updateMany({
      where: { id: row.id, status: "enabled", nextPollAt: row.nextPollAt },
      data: { nextPollAt: new Date(now.getTime() + CLAIM_MS) },
    });
    if (claimed.count === 0) continue;
    summary.polled++;
    try {
      summary.stored += await pollOne(db, row, now);
      await db.activitySubscription.update({
        where: { id: row.id },
        data: {
          lastPolledAt: now,
          nextPollAt: new Date(now.getTime() + interval),
          pollAttempts: 0,
          ...(row.pollAttempts > 0 ? { lastErrorCode: null, lastErrorMessage: null, lastErrorAt: null } : {}),
        },
      });
    } catch (e) {
      summary.failed++;
      const known = e instanceof ActivityApiError || (e as { name?: string }).name === "AppError";
      if (!known)
        logger.error({ err: { message: (e as Error).message }, subscription: row.id }, "activity poll failed");
      // Retry-After wins when longer (backoffMs), and a poll is never put off by much more than four intervals
      const retryMs = Math.min(
        backoffMs(row.pollAttempts + 1, e instanceof ActivityApiError ? e.retryAfterSeconds : undefined),
        Math.max(interval * 4, ((e as ActivityApiError).retryAfterSeconds ?? 0) * 1000),
      );
      await db.activitySubscription
        .update({
          where: { id: row.id },
          data: {
            nextPollAt: new Date(now.getTime() + retryMs),
            pollAttempts: { increment: 1 },
            lastErrorCode: e instanceof ActivityApiError ? e.code : "poll_failed",
            lastErrorMessage: known ? (e as Error).message : "The catch-up poll failed; it is retried.",
            lastErrorAt: now,
          },
        })
        .catch(() => undefined);
    }
  }
  summary.pruned = await pruneContent(db, now);
  return summary;
}
