// One OAuth app for its edit page: everything but secrets (reported as set/unset), plus what seed 000
// asks to paste into the Azure manifest when the app has a certificate, and (Microsoft) the app
// instance property lock for the same manifest.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { azureKeyCredentials } from "@/lib/crypto/certificates";
import { PROVIDERS } from "@/lib/providers/catalogue";

/**
 * Microsoft's app instance property lock, as the app registration's manifest (and Microsoft Graph's
 * application resource) spells it: customer tenants cannot add or change credentials, or the token
 * encryption key, on their copy of the app (its service principal), so nobody there can sign in as the
 * app with a credential of their own. Identifier URIs are left unlocked, as in Microsoft's own default.
 * Microsoft turns it on only for new registrations (the Entra admin center's default; every new app
 * since June 2026, message center MC1300584); apps registered before keep what they had.
 * https://learn.microsoft.com/entra/identity-platform/howto-configure-app-instance-property-locks
 * https://learn.microsoft.com/graph/api/resources/serviceprincipallockconfiguration
 */
export const SERVICE_PRINCIPAL_LOCK = {
  isEnabled: true,
  allProperties: true,
  credentialsWithUsageVerify: true,
  credentialsWithUsageSign: true,
  identifierUris: false,
  tokenEncryptionKeyId: true,
} as const;

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
    // apps whose client credentials obtain tokens in customers' directories (the catalogue's appOnly flag)
    servicePrincipalLock: PROVIDERS.get(app.providerId)?.appOnly
      ? JSON.stringify({ servicePrincipalLockConfiguration: SERVICE_PRINCIPAL_LOCK }, null, 2)
      : null,
    updatedAt: app.updatedAt,
  };
}
