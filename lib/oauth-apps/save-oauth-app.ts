// Creates or updates an OAuth app. Secrets are write-only: they are encrypted, never returned, and a
// blank field keeps what is stored. A certificate is uploaded (PEM + key) or generated here.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { encryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";
import { generateSelfSignedCertificate, parseCertificateAndKey } from "@/lib/crypto/certificates";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { ZOAuthAppInput } from "@/lib/oauth-apps/schemas";

export async function saveOAuthApp({
  db,
  organizationId,
  appId,
  input,
  actor,
}: {
  db: Db;
  /** null: a platform ("embedded") app — callers must have checked the actor is staff */
  organizationId: string | null;
  appId?: string;
  input: unknown;
  actor: Actor;
}) {
  const parsed = ZOAuthAppInput.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const v = parsed.data;
  const provider = PROVIDERS.get(v.providerId);
  if (!provider || provider.authKind !== "oauth2")
    throw new AppError("validation", "Unknown provider", {
      errors: [{ path: "providerId", message: "validation.provider" }],
      i18n: { key: "errors.checkFields" },
    });

  const existing = appId
    ? await db.oAuthApp.findFirst({ where: { id: appId, organizationId }, select: { id: true, providerId: true } })
    : null;
  if (appId && !existing)
    throw new AppError("not-found", "OAuth app not found", { i18n: { key: "errors.appNotFound" } });
  if (existing && existing.providerId !== v.providerId)
    throw new AppError("validation", "The provider of an app cannot change", {
      errors: [{ path: "providerId", message: "validation.providerFixed" }],
      i18n: { key: "errors.checkFields" },
    });
  const id = existing?.id ?? crypto.randomUUID();
  const row = { id, organizationId };

  let certificate:
    | {
        certificatePem: string;
        certificateThumbprint: string;
        certificateKeyId: string;
        certificateNotAfter: Date;
        privateKeyEnc: string;
      }
    | undefined;
  if (v.generateCertificate || v.certificatePem || v.privateKeyPem) {
    if (!provider.appOnly)
      throw new AppError("validation", "This provider does not use certificates", {
        errors: [{ path: "certificatePem", message: "validation.noCertificates" }],
        i18n: { key: "errors.checkFields" },
      });
    let pems: { certificatePem: string; privateKeyPem: string };
    if (v.generateCertificate)
      pems = await generateSelfSignedCertificate({ commonName: `Consentry ${v.name}`.slice(0, 64) });
    else if (v.certificatePem && v.privateKeyPem)
      pems = { certificatePem: v.certificatePem, privateKeyPem: v.privateKeyPem };
    else
      throw new AppError("validation", "Upload both the certificate and its private key", {
        errors: [
          { path: v.certificatePem ? "privateKeyPem" : "certificatePem", message: "validation.certificatePair" },
        ],
        i18n: { key: "errors.checkFields" },
      });
    let info;
    try {
      info = parseCertificateAndKey(pems);
    } catch (e) {
      // the parser's reason is technical English; people get it inside a translated sentence
      throw new AppError("validation", (e as Error).message, {
        errors: [
          {
            path: "certificatePem",
            message: "validation.certificateUnreadable",
            values: { detail: (e as Error).message },
          },
        ],
        i18n: { key: "errors.checkFields" },
      });
    }
    certificate = {
      certificatePem: info.certificatePem,
      certificateThumbprint: info.thumbprintSha1Base64Url,
      certificateKeyId: crypto.randomUUID(),
      certificateNotAfter: info.notAfter,
      privateKeyEnc: encryptSecret(info.privateKeyPem, contextFor("OAuthApp", row, "privateKeyEnc")),
    };
  }

  const data = {
    providerId: v.providerId,
    name: v.name,
    clientId: v.clientId,
    redirectUri: v.redirectUri ?? null,
    publisherTenantId: v.publisherTenantId?.toLowerCase() ?? null,
    ...(v.clientSecret
      ? { clientSecretEnc: encryptSecret(v.clientSecret, contextFor("OAuthApp", row, "clientSecretEnc")) }
      : v.removeSecret
        ? { clientSecretEnc: null }
        : {}),
    ...(certificate ?? {}),
    // new credentials: clear any operator alert about the old ones
    ...(v.clientSecret || certificate ? { alertCode: null, alertMessage: null, alertAt: null } : {}),
  };
  const app = existing
    ? await db.oAuthApp.update({ where: { id }, data })
    : await db.oAuthApp.create({ data: { id, organizationId, ...data } });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: existing ? "oauth_app.updated" : "oauth_app.created",
      outcome: "success",
      target: { type: "oauth_app", id },
      details: {
        providerId: v.providerId,
        clientId: v.clientId,
        clientCredentialReplaced: Boolean(v.clientSecret),
        certificateReplaced: Boolean(certificate),
        ownership: organizationId ? "custom" : "embedded",
      },
    },
    db,
  );
  return { id: app.id };
}
