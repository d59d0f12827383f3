export const WEBHOOK_EVENTS = [
  "connection.connected",
  "connection.refresh_failed",
  "connection.needs_reconsent",
  "connection.recovered",
  "connection.refresh_token_expiring",
  "connection.revoked",
  // a Microsoft 365 connection's Activity API made a content blob available (lib/activity)
  "activity.content_available",
] as const;
export type TWebhookEvent = (typeof WEBHOOK_EVENTS)[number];
