// Deliveries are signed with the Standard Webhooks scheme by its reference implementation, so a
// receiver verifies them with any Standard Webhooks library instead of code written for Consentry.
import crypto from "node:crypto";
import { Webhook } from "standardwebhooks";

/** `whsec_` + base64 of 24 random bytes: the secret form every Standard Webhooks library reads. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(24).toString("base64")}`;
}

/**
 * The key is the secret's bytes. Secrets issued before Standard Webhooks spell their 24 random bytes
 * in base64url; Node's base64 decoder reads both alphabets, so those endpoints keep their key (a
 * receiver gives its verifier the same secret with `-` as `+` and `_` as `/`).
 */
function signingKey(secret: string): Uint8Array {
  return Buffer.from(secret.replace(/^whsec_/, ""), "base64");
}

/**
 * The three Standard Webhooks headers. `deliveryId` is the same on every retry of a delivery (what
 * receivers de-duplicate on); the timestamp is the attempt's, which receivers hold against replays.
 */
export function signWebhook({
  secret,
  deliveryId,
  body,
  at = new Date(),
}: {
  secret: string;
  deliveryId: string;
  body: string;
  at?: Date;
}) {
  return {
    "webhook-id": deliveryId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(signingKey(secret), { format: "raw" }).sign(deliveryId, at, body),
  };
}
