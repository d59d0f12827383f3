// The audit vocabulary the code records: action codes (each has a human name in en and ja under
// audit.actions.<code>), target types and the labels of actors that are no account. The filters
// match what a reader types against these lists, so that no database has to compare case-insensitively.
// tests/unit/audit-actions.test.ts holds this list equal to what lib/ and app/ record.

/** The REST API's route ids (lib/api/routes.ts), audited as `api.<id>`, plus the proxy and unmatched paths. */
export const API_ROUTE_IDS = [
  "listProviders",
  "listOAuthApps",
  "listConnections",
  "createConnection",
  "importConnection",
  "getConnection",
  "exportConnection",
  "createConsentLink",
  "getToken",
  "getAppToken",
  "testConnection",
  "updateConnection",
  "deleteConnection",
  "listActivitySubscriptions",
  "startActivitySubscriptions",
  "stopActivitySubscription",
  "listActivityContent",
  "downloadActivityContent",
  "ackActivityContent",
  "createConnectSession",
  "getConnectSession",
  "revokeConnectSession",
  "listWebhookEndpoints",
  "createWebhookEndpoint",
  "deleteWebhookEndpoint",
  "proxy",
  "unknown",
] as const;

export const AUDIT_ACTIONS: readonly string[] = [
  "activity.notification_rejected",
  "activity.subscription_stopped",
  "activity.subscriptions_started",
  "api.auth_failed",
  ...API_ROUTE_IDS.map((id) => `api.${id}`),
  "api_key.created",
  "api_key.revoked",
  "auth.sign_in",
  "connect_session.connected",
  "connect_session.created",
  "connect_session.failed",
  "connect_session.opened",
  "connect_session.revoked",
  "connect_session.started",
  "connection.created",
  "connection.exported",
  "connection.imported",
  "connection.purged",
  "connection.refresh_failed",
  "connection.refreshed",
  "connection.revoked",
  "connection.tested",
  "connection.updated",
  "consent.completed",
  "consent.failed",
  "consent.started",
  "consent_link.created",
  "consent_link.revoked",
  "keys.reencrypted",
  "member.added",
  "member.invited",
  "member.removed",
  "member.role_changed",
  "oauth.provider_mismatch",
  "oauth.state_invalid",
  "oauth.state_missing",
  "oauth.state_mismatch",
  "oauth_app.created",
  "oauth_app.updated",
  "organization.created",
  "organization.renamed",
  "staff.granted",
  "staff.revoked",
  "user.created",
  "user.password_changed",
  "user.password_set",
  "webhook.created",
  "webhook.deleted",
  "webhook.test_sent",
];

export const AUDIT_TARGET_TYPES = [
  "connection",
  "oauth_app",
  "api_key",
  "webhook",
  "consent_request",
  "connect_session",
  "membership",
  "organization",
  "user",
] as const;

export const AUDIT_ACTOR_TYPES = ["user", "api_key", "system", "anonymous"] as const;

/** Labels of actors that are no account (system jobs, people without one) → their message key under audit.actorLabel. */
export const ACTOR_LABEL_KEYS: Record<string, string> = {
  refresh: "refresh",
  "refresh journal": "refreshJournal",
  "tenant admin": "tenantAdmin",
  "connect session": "connectSession",
  cli: "cli",
  "first start": "firstStart",
  "Microsoft 365 webhook": "microsoft365Webhook",
};

/** The message key of an actor's label, for system and anonymous actors (a user's e-mail stays as it is). */
export function actorLabelKey(actorType: string, label: string | null): string | null {
  if (!label || (actorType !== "system" && actorType !== "anonymous")) return null;
  if (Object.hasOwn(ACTOR_LABEL_KEYS, label)) return ACTOR_LABEL_KEYS[label]!;
  // a connect session's own label carries its id: "connect session <id>"
  return label.startsWith("connect session ") ? "connectSession" : null;
}
