export const WEBHOOK_EVENTS = [
  "connection.connected",
  "connection.refresh_failed",
  "connection.needs_reconsent",
  "connection.recovered",
  "connection.refresh_token_expiring",
  "connection.revoked",
] as const;
export type TWebhookEvent = (typeof WEBHOOK_EVENTS)[number];
