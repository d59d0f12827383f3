// Calls to the Office 365 Management Activity API (seed 000, step 4) for one connection's tenant, with
// the app-only token of that tenant: the tenant in the URL is always the stored tid, which is the
// token's. Microsoft's error answers are reduced to their AFxxxxx code and a message of Consentry's own
// that says what to do: Microsoft's text is never passed on (it can quote what was sent).
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { applyHostOverrides, renderTemplate } from "@/lib/providers/resolve-url";
import { EgressError, egressFetch } from "@/lib/oauth/egress";
import { getAppOnlyToken } from "@/lib/tokens/get-app-only-token";

export const CONTENT_TYPES = [
  "Audit.AzureActiveDirectory",
  "Audit.Exchange",
  "Audit.SharePoint",
  "Audit.General",
  "DLP.All",
] as const;
export type TContentType = (typeof CONTENT_TYPES)[number];

/** What a failed call means for Consentry, decided from the status and Microsoft's AF code. */
export type ActivityFailure =
  "consent" | "audit_disabled" | "not_subscribed" | "already_enabled" | "retryable" | "invalid";

export class ActivityApiError extends Error {
  constructor(
    readonly failure: ActivityFailure,
    /** Microsoft's code (AF20022 …) or the HTTP status; safe to show */
    readonly code: string,
    /** Consentry's own sentence, safe to show */
    message: string,
    readonly status: number | null,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ActivityApiError";
  }
}

const AF_CODE = /^AF\d{3,6}$/;

/** Consentry's sentence for a refused call: what the tenant admin or the operator must do. */
function explain(status: number, code: string | null): { failure: ActivityFailure; message: string } {
  // throttling: Microsoft has answered it with 403 as well as 429
  if (code === "AF429" || code === "AF50000")
    return {
      failure: "retryable",
      message: `Microsoft answered ${code} (busy or throttled); Consentry retries later.`,
    };
  if (code === "AF20024") return { failure: "already_enabled", message: "The subscription is already enabled." };
  if (code === "AF20022")
    return { failure: "not_subscribed", message: "There is no subscription for this content type." };
  if (code === "AF20011" || code === "AF20012" || code === "AF20013")
    return {
      failure: "audit_disabled",
      message:
        "Microsoft does not know this tenant for the Activity API yet. A tenant admin must turn on audit logging (Microsoft Purview portal → Audit → Start recording user and admin activity); it can take an hour or more to take effect.",
    };
  if (code === "AF20021")
    return {
      failure: "invalid",
      message:
        "Microsoft could not validate Consentry's webhook address. Check that CONSENTRY_URL is reachable from the internet over https; the catch-up poll keeps collecting content meanwhile.",
    };
  if (code === "AF20023")
    return {
      failure: "invalid",
      message: "The subscription was disabled by Microsoft or an administrator; start it again.",
    };
  if (status === 401 || status === 403 || code === "AF10001")
    return {
      failure: "consent",
      message:
        "Microsoft refused the app-only token. The app needs the Office 365 Management API application permission ActivityFeed.Read, granted by a tenant admin (send a consent link again), and the tenant must have audit logging turned on.",
    };
  if (status === 429 || status >= 500)
    return {
      failure: "retryable",
      message: `Microsoft answered HTTP ${status}${code ? ` (${code})` : ""}; Consentry retries later.`,
    };
  return { failure: "invalid", message: `Microsoft refused the request (HTTP ${status}${code ? `, ${code}` : ""}).` };
}

function retryAfterSeconds(h: Headers): number | undefined {
  const v = h.get("retry-after");
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.min(Math.ceil(n), 3600);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(1, Math.min(3600, Math.ceil((at - Date.now()) / 1000))) : undefined;
}

export type ActivityTarget = {
  organizationId: string;
  connectionId: string;
  tenantId: string;
  /** the Management API's origin for this installation (overrides applied) */
  apiOrigin: string;
  publisherId: string | null;
  clientId: string;
};

/** The connection as the Activity API needs it: a Microsoft 365 connection with a tenant. 404/409/400 otherwise. */
export async function activityTarget(db: Db, organizationId: string, connectionId: string): Promise<ActivityTarget> {
  const c = await db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: {
      id: true,
      providerId: true,
      status: true,
      externalTenantId: true,
      oauthApp: { select: { clientId: true, publisherTenantId: true } },
    },
  });
  if (!c)
    throw new AppError("not-found", `No connection ${connectionId} in this organization.`, {
      i18n: { key: "errors.connectionNotFound" },
    });
  const provider = PROVIDERS.get(c.providerId);
  if (!provider?.appOnly || !provider.apiBaseUrl)
    throw new AppError("bad-request", "Activity feeds exist for Microsoft 365 Management API connections only.", {
      i18n: { key: "errors.activityNotSupported" },
    });
  if (!c.externalTenantId || !c.oauthApp || c.status === "pending_consent" || c.status === "revoked")
    throw new AppError("needs-reconsent", "The tenant has not consented yet (no tenant id): send a consent link.", {
      extra: { reason: c.status },
      i18n: { key: "errors.tenantNotConsented" },
    });
  const base = renderTemplate(provider, provider.apiBaseUrl, { tenant: c.externalTenantId });
  return {
    organizationId,
    connectionId: c.id,
    tenantId: c.externalTenantId,
    apiOrigin: new URL(applyHostOverrides(base!)).origin,
    publisherId: c.oauthApp.publisherTenantId,
    clientId: c.oauthApp.clientId,
  };
}

/** The feed's URL for an operation, with the tenant of the token and the publisher's quota. */
export function feedUrl(t: ActivityTarget, operation: string, query: Record<string, string> = {}): string {
  const u = new URL(`${t.apiOrigin}/api/v1.0/${t.tenantId}/activity/feed/${operation}`);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  if (t.publisherId) u.searchParams.set("PublisherIdentifier", t.publisherId);
  return u.toString();
}

/** A URL Microsoft handed back (NextPageUri, contentUri) is only followed on the tenant's own feed. */
export function isOwnFeedUrl(t: ActivityTarget, url: string): boolean {
  try {
    const u = new URL(applyHostOverrides(url));
    return (
      u.origin === t.apiOrigin &&
      u.pathname.toLowerCase().startsWith(`/api/v1.0/${t.tenantId.toLowerCase()}/activity/feed/`) &&
      !u.username &&
      !u.password
    );
  } catch {
    return false;
  }
}

export type FeedAnswer = { status: number; headers: Headers; json: unknown };

/** One call with the app-only token; a 401 gets one new token and one retry. Throws ActivityApiError for any refusal. */
export async function callFeed(
  db: Db,
  t: ActivityTarget,
  method: "GET" | "POST",
  url: string,
  body?: unknown,
): Promise<FeedAnswer> {
  for (let attempt = 0; ; attempt++) {
    const token = await getAppOnlyToken({
      db,
      organizationId: t.organizationId,
      connectionId: t.connectionId,
      force: attempt > 0,
    });
    let res;
    try {
      res = await egressFetch(applyHostOverrides(url), {
        method,
        headers: {
          authorization: `Bearer ${token.accessToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? (method === "POST" ? "" : undefined) : JSON.stringify(body),
        timeoutMs: 30_000,
        maxBytes: 16 * 1024 * 1024,
      });
    } catch (e) {
      if (e instanceof EgressError)
        throw new ActivityApiError("retryable", e.code, `Microsoft could not be reached (${e.code}).`, null, 60);
      throw e;
    }
    if (res.status === 401 && attempt === 0) continue;
    let json: unknown = null;
    try {
      json = res.text ? JSON.parse(res.text) : null;
    } catch {
      json = null;
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, headers: res.headers, json };
    const raw = (json as { error?: { code?: unknown } } | null)?.error?.code;
    const code = typeof raw === "string" && AF_CODE.test(raw) ? raw : null;
    const { failure, message } = explain(res.status, code);
    throw new ActivityApiError(
      failure,
      code ?? `HTTP ${res.status}`,
      message,
      res.status,
      retryAfterSeconds(res.headers),
    );
  }
}
