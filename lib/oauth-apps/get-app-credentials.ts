// Decrypted credentials of an OAuth app, for the token endpoint only. Never returned to a browser.
import type { Db, Tx } from "@/lib/db/client";
import { decryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { parseCertificateAndKey } from "@/lib/crypto/certificates";
import { AppError } from "@/lib/errors";

export type AppCredentials = {
  id: string;
  organizationId: string | null;
  providerId: string;
  clientId: string;
  clientSecret: string | null;
  redirectUri: string | null;
  certificate: { privateKeyPem: string; sha1: string; sha256: string } | null;
};

/** The app if `organizationId` may use it (its own or a platform app). */
export async function getAppCredentials({
  db,
  appId,
  organizationId,
}: {
  db: Db | Tx;
  appId: string;
  organizationId: string;
}): Promise<AppCredentials> {
  const app = await db.oAuthApp.findFirst({ where: { id: appId, OR: [{ organizationId }, { organizationId: null }] } });
  if (!app) throw new AppError("not-found", "OAuth app not found", { i18n: { key: "errors.appNotFound" } });
  const clientSecret = app.clientSecretEnc
    ? decryptSecret(app.clientSecretEnc, contextFor("OAuthApp", app, "clientSecretEnc"))
    : null;
  let certificate: AppCredentials["certificate"] = null;
  if (app.certificatePem && app.privateKeyEnc) {
    const info = parseCertificateAndKey({
      certificatePem: app.certificatePem,
      privateKeyPem: decryptSecret(app.privateKeyEnc, contextFor("OAuthApp", app, "privateKeyEnc")),
    });
    certificate = {
      privateKeyPem: info.privateKeyPem,
      sha1: info.thumbprintSha1Base64Url,
      sha256: info.thumbprintSha256Base64Url,
    };
  }
  return {
    id: app.id,
    organizationId: app.organizationId,
    providerId: app.providerId,
    clientId: app.clientId,
    clientSecret,
    redirectUri: app.redirectUri,
    certificate,
  };
}
