// One OAuth app for its edit page: everything but secrets (reported as set/unset), plus what seed 000
// asks to paste into the Azure manifest when the app has a certificate.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { azureKeyCredentials } from "@/lib/crypto/certificates";

export async function getOAuthApp({
  db,
  appId,
  organizationId,
}: {
  db: Db;
  appId: string;
  organizationId: string | null;
}) {
  const app = await db.oAuthApp.findFirst({ where: { id: appId, organizationId } });
  if (!app) return null;
  let certificate = null;
  if (app.certificatePem) {
    const x = new crypto.X509Certificate(app.certificatePem);
    const der = x.raw;
    const sha1 = crypto.createHash("sha1").update(der).digest();
    const keyCredentials = azureKeyCredentials({
      certificate: { thumbprintSha1Base64: sha1.toString("base64"), derBase64: der.toString("base64") },
      keyId: app.certificateKeyId ?? crypto.randomUUID(),
    });
    certificate = {
      x5t: sha1.toString("base64url"),
      thumbprintHex: sha1.toString("hex").toUpperCase(),
      subject: x.subject,
      notAfter: new Date(x.validTo),
      base64Value: der.toString("base64"),
      keyId: keyCredentials[0]!.keyId,
      manifest: JSON.stringify({ keyCredentials }, null, 2),
      certificatePem: app.certificatePem,
    };
  }
  return {
    id: app.id,
    providerId: app.providerId,
    name: app.name,
    clientId: app.clientId,
    redirectUri: app.redirectUri,
    publisherTenantId: app.publisherTenantId,
    clientSecretSet: app.clientSecretEnc !== null,
    privateKeySet: app.privateKeyEnc !== null,
    alert: app.alertCode ? { code: app.alertCode, message: app.alertMessage, at: app.alertAt } : null,
    certificate,
    updatedAt: app.updatedAt,
  };
}
