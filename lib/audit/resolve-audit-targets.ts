// What an audit event's target is now: its name and where it lives in the portal, or only its id
// when it is gone (a purged connection, a deleted webhook). One query per target type on a page.
import type { Db } from "@/lib/db/client";

export type TAuditTarget = {
  type: string;
  id: string;
  /** what a reader recognises it by (a webhook: its URL), null when it is gone or has none */
  name: string | null;
  /** still there, in this organization */
  exists: boolean;
  /** a consent request's or connect session's connection, where its page is */
  connectionId?: string;
};

type Row = { targetType: string | null; targetId: string | null };

const key = (type: string, id: string) => `${type}:${id}`;

/** The targets of these events (the organization's own only), keyed by `type:id`. */
export async function resolveAuditTargets({
  db,
  organizationId,
  events,
}: {
  db: Db;
  organizationId: string | null;
  events: Row[];
}): Promise<Map<string, TAuditTarget>> {
  const ids = new Map<string, Set<string>>();
  for (const e of events) {
    if (!e.targetType || !e.targetId) continue;
    if (!ids.has(e.targetType)) ids.set(e.targetType, new Set());
    ids.get(e.targetType)!.add(e.targetId);
  }
  const out = new Map<string, TAuditTarget>();
  for (const [type, set] of ids) for (const id of set) out.set(key(type, id), { type, id, name: null, exists: false });
  if (!organizationId) return out;
  const of = (type: string) => [...(ids.get(type) ?? [])];
  const found = (type: string, id: string, name: string | null, connectionId?: string) =>
    out.set(key(type, id), { type, id, name, exists: true, ...(connectionId ? { connectionId } : {}) });
  const where = (type: string) => ({ id: { in: of(type) }, organizationId });
  const [connections, apps, keys, webhooks, requests, sessions, orgs] = await Promise.all([
    ids.has("connection")
      ? db.connection.findMany({ where: where("connection"), select: { id: true, name: true } })
      : [],
    ids.has("oauth_app") ? db.oAuthApp.findMany({ where: where("oauth_app"), select: { id: true, name: true } }) : [],
    ids.has("api_key") ? db.apiKey.findMany({ where: where("api_key"), select: { id: true, name: true } }) : [],
    ids.has("webhook") ? db.webhookEndpoint.findMany({ where: where("webhook"), select: { id: true, url: true } }) : [],
    ids.has("consent_request")
      ? db.consentRequest.findMany({
          where: where("consent_request"),
          select: { id: true, connection: { select: { id: true, name: true } } },
        })
      : [],
    ids.has("connect_session")
      ? db.connectSession.findMany({ where: where("connect_session"), select: { id: true, connectionId: true } })
      : [],
    ids.has("organization") && of("organization").includes(organizationId)
      ? db.organization.findMany({ where: { id: organizationId }, select: { id: true, name: true } })
      : [],
  ]);
  for (const c of connections) found("connection", c.id, c.name);
  for (const a of apps) found("oauth_app", a.id, a.name);
  for (const k of keys) found("api_key", k.id, k.name);
  for (const w of webhooks) found("webhook", w.id, w.url);
  for (const r of requests) found("consent_request", r.id, r.connection.name, r.connection.id);
  // a session's connection may be gone while the session row stays
  const sessionConnections = new Set(
    (
      await db.connection.findMany({
        where: { organizationId, id: { in: sessions.flatMap((s) => (s.connectionId ? [s.connectionId] : [])) } },
        select: { id: true },
      })
    ).map((c) => c.id),
  );
  for (const s of sessions)
    found(
      "connect_session",
      s.id,
      null,
      s.connectionId && sessionConnections.has(s.connectionId) ? s.connectionId : undefined,
    );
  for (const o of orgs) found("organization", o.id, o.name);
  return out;
}

/** The target of one event, from resolveAuditTargets' map. */
export function auditTargetOf(targets: Map<string, TAuditTarget>, e: Row): TAuditTarget | null {
  return e.targetType && e.targetId ? (targets.get(key(e.targetType, e.targetId)) ?? null) : null;
}

/** The portal page of a target that still exists, null when there is none (or it is gone). */
export function auditTargetHref(orgSlug: string, t: TAuditTarget): string | null {
  if (!t.exists) return null;
  const base = `/orgs/${encodeURIComponent(orgSlug)}`;
  const id = encodeURIComponent(t.id);
  switch (t.type) {
    case "connection":
      return `${base}/connections/${id}`;
    case "oauth_app":
      return `${base}/apps/${id}`;
    case "api_key":
      return `${base}/api-keys#api-key-${id}`;
    case "webhook":
      return `${base}/webhooks#webhook-${id}`;
    case "organization":
      return `${base}/settings`;
    case "consent_request":
    case "connect_session":
      return t.connectionId ? `${base}/connections/${encodeURIComponent(t.connectionId)}` : null;
    default:
      return null;
  }
}
