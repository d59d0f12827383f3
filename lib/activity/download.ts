// GET /api/v1/connections/{id}/activity/content/{content_id}: the blob, fetched from Microsoft with the
// app-only token and streamed to the job as it arrives (Microsoft's JSON array of audit records). The
// URL is the stored contentUri, which was checked to be on the tenant's own feed when it was stored and
// is checked again here.
import type { Readable } from "node:stream";
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { applyHostOverrides } from "@/lib/providers/resolve-url";
import { EgressError, egressStream, type EgressStreamResponse } from "@/lib/oauth/egress";
import { getAppOnlyToken } from "@/lib/tokens/get-app-only-token";
import { maskSecrets, PROXY_TIMEOUT_MS } from "@/lib/proxy/proxy-request";
import { activityTarget, isOwnFeedUrl } from "@/lib/activity/management-api";

export async function downloadContent({
  db,
  organizationId,
  connectionId,
  contentId,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  contentId: string;
}): Promise<{ stream: Readable; contentType: string }> {
  const t = await activityTarget(db, organizationId, connectionId);
  const row = await db.activityContent.findFirst({
    where: { organizationId, connectionId, contentId },
    select: { contentUri: true, contentExpiration: true },
  });
  if (!row) throw new AppError("not-found", `No content ${contentId} for this connection.`);
  if (row.contentExpiration <= new Date())
    throw new AppError("not-found", `Content ${contentId} has expired at Microsoft (blobs are kept 7 days).`);
  if (!isOwnFeedUrl(t, row.contentUri))
    throw new AppError("conflict", "The stored content address is not on this tenant's feed.");
  const secrets: string[] = [];
  let res: EgressStreamResponse | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const token = await getAppOnlyToken({ db, organizationId, connectionId, force: attempt > 0 });
    secrets.push(token.accessToken);
    res?.body.destroy();
    try {
      const url = new URL(applyHostOverrides(row.contentUri));
      // the publisher's own throttling quota applies to downloads too
      if (t.publisherId) url.searchParams.set("PublisherIdentifier", t.publisherId);
      res = await egressStream(url.toString(), {
        method: "GET",
        headers: {
          authorization: `Bearer ${token.accessToken}`,
          accept: "application/json",
          "accept-encoding": "identity",
        },
        timeoutMs: PROXY_TIMEOUT_MS,
        maxBytes: env().proxyMaxResponseBytes,
      });
    } catch (e) {
      if (e instanceof EgressError)
        throw new AppError(
          e.code === "timeout" ? "gateway-timeout" : "bad-gateway",
          `Microsoft could not be reached (${e.code}).`,
          {
            retryAfter: 30,
          },
        );
      throw e;
    }
    if (res.status !== 401) break;
  }
  if (res!.status !== 200) {
    res!.body.destroy();
    if (res!.status === 404 || res!.status === 400)
      throw new AppError("not-found", `Microsoft no longer has content ${contentId} (it may have expired).`);
    throw new AppError("bad-gateway", `Microsoft answered HTTP ${res!.status} for the content.`, { retryAfter: 30 });
  }
  const masked = maskSecrets(secrets);
  res!.body.on("error", (e) => masked.destroy(e));
  return { stream: res!.body.pipe(masked), contentType: "application/json; charset=utf-8" };
}
