// Webhook signatures: header `Consentry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
// Receivers recompute it and reject timestamps older than their tolerance (replay protection).
import crypto from "node:crypto";

export const SIGNATURE_HEADER = "consentry-signature";

export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = crypto.createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

export function verifyWebhookSignature({
  secret,
  body,
  header,
  toleranceSeconds = 300,
  now = Date.now(),
}: {
  secret: string;
  body: string;
  header: string | null;
  toleranceSeconds?: number;
  now?: number;
}): boolean {
  if (!header) return false;
  const parts = Object.fromEntries(header.split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(now / 1000 - t) > toleranceSeconds || !parts.v1) return false;
  const want = Buffer.from(crypto.createHmac("sha256", secret).update(`${t}.${body}`).digest("hex"));
  const got = Buffer.from(parts.v1);
  return want.length === got.length && crypto.timingSafeEqual(want, got);
}
