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

/**
 * The event the webhooks page's "Send test event" sends to one endpoint, whatever it subscribed to. Not
 * in WEBHOOK_EVENTS: nobody subscribes to it (the API refuses it in `events`).
 */
export const WEBHOOK_TEST_EVENT = "webhook.test";
