// Edits a connection: name, settings and metadata merge (null removes a key), scopes replace the
// requested set. A change to where secrets go (a `reconsentOnChange` setting) or to what is asked
// for (the requested scopes) wipes the tokens in the same transaction and asks for consent again.
import { isDeepStrictEqual } from "node:util";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { customerUrls, parseProviderSettings } from "@/lib/providers/settings";
import { checkOutboundUrls } from "@/lib/validation/check-outbound-urls";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { emitConnectionEvent } from "@/lib/webhooks/emit-connection-event";
import { METADATA_MAX_KEYS, ZUpdateConnection } from "@/lib/connections/schemas";
import { allSettings, sealSecretSettings, splitSettings } from "@/lib/connections/secret-settings";
import { assertAdminConsentAllowed } from "@/lib/connections/create-connection";
import { createConsentLink } from "@/lib/connections/create-consent-link";

export type UpdateOutcome = {
  connectionId: string;
  /** what changed: "name", "scopes", "settings.<key>", "metadata.<key>" */
  changed: string[];
  reconsentRequired: boolean;
  consentUrl: string | null;
  consentExpiresAt: Date | null;
};

function merge<T>(base: Record<string, T>, patch: Record<string, T | null>): Record<string, T> {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && new Set([...a, ...b]).size === a.length;

export async function updateConnection({
  db,
  organizationId,
  connectionId,
  input,
  actor,
  createdByUserId,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  input: unknown;
  actor: Actor;
  createdByUserId?: string;
}): Promise<UpdateOutcome> {
  const parsed = ZUpdateConnection.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const v = parsed.data;
  const c = await db.connection.findFirst({
    where: { id: connectionId, organizationId },
    select: {
      id: true,
      organizationId: true,
      providerId: true,
      oauthAppId: true,
      name: true,
      status: true,
      settings: true,
      secretSettingsEnc: true,
      requestedScopes: true,
      customerMetadata: true,
      updatedAt: true,
    },
  });
  if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
  const provider = PROVIDERS.get(c.providerId);
  if (!provider)
    throw new AppError("conflict", `The provider ${c.providerId} is no longer in the catalogue.`, {
      i18n: { key: "errors.providerGone" },
    });

  const changed: string[] = [];
  if (v.name !== undefined && v.name !== c.name) changed.push("name");

  // settings: merged over what is stored (secret ones included), then validated as a whole
  const before = allSettings(c);
  let settings = before;
  if (v.settings) {
    settings = parseProviderSettings(provider, merge(before, v.settings));
    const refused = await checkOutboundUrls(
      customerUrls(provider, settings)
        .filter(({ key, url }) => before[key] !== url)
        .map(({ key, url }) => ({ path: `settings.${key}`, url })),
    );
    if (refused.length)
      throw new AppError("validation", "Check the highlighted fields.", {
        errors: refused,
        i18n: { key: "errors.checkFields" },
      });
    await assertAdminConsentAllowed(db, provider, settings, c.oauthAppId);
    for (const key of new Set([...Object.keys(before), ...Object.keys(settings)]))
      if (!isDeepStrictEqual(before[key], settings[key])) changed.push(`settings.${key}`);
  }
  const reconsentSettings = provider.settings
    .filter((s) => s.reconsentOnChange && changed.includes(`settings.${s.key}`))
    .map((s) => s.key);

  const oldScopes = c.requestedScopes.split(" ").filter(Boolean);
  const scopes = v.scopes ? [...new Set(v.scopes)] : oldScopes;
  const scopesChanged = !sameSet(oldScopes, scopes);
  if (scopesChanged) changed.push("scopes");

  const oldMetadata = JSON.parse(c.customerMetadata) as Record<string, string>;
  const metadata = v.metadata ? merge(oldMetadata, v.metadata) : oldMetadata;
  if (Object.keys(metadata).length > METADATA_MAX_KEYS)
    throw new AppError("validation", `A connection keeps at most ${METADATA_MAX_KEYS} metadata keys.`, {
      errors: [{ path: "metadata", message: "validation.metadataTooMany" }],
      i18n: { key: "errors.checkFields" },
    });
  for (const key of new Set([...Object.keys(oldMetadata), ...Object.keys(metadata)]))
    if (oldMetadata[key] !== metadata[key]) changed.push(`metadata.${key}`);

  const reconsent = reconsentSettings.length > 0 || scopesChanged;
  if (reconsent && provider.authKind !== "oauth2")
    // an API key has no consent to ask for again: it would simply be sent to the new place
    throw new AppError(
      "validation",
      "This change would send the stored API key somewhere else. Create a new connection with the key for that place.",
      {
        errors: reconsentSettings.map((k) => ({ path: `settings.${k}`, message: "validation.apiKeyReconsent" })),
        i18n: { key: "errors.checkFields" },
      },
    );

  if (changed.length === 0)
    return { connectionId: c.id, changed, reconsentRequired: false, consentUrl: null, consentExpiresAt: null };

  const { plain, secret } = splitSettings(provider, settings);
  const now = new Date();
  const applied = await db.$transaction(async (tx) => {
    // compare-and-set: a concurrent edit in between is refused rather than silently merged over
    const { count } = await tx.connection.updateMany({
      where: { id: c.id, organizationId, updatedAt: c.updatedAt },
      data: {
        name: v.name ?? c.name,
        settings: JSON.stringify(plain),
        secretSettingsEnc: sealSecretSettings(c, secret),
        requestedScopes: scopes.join(" "),
        customerMetadata: JSON.stringify(metadata),
        updatedAt: now,
        ...(reconsent
          ? {
              status: "pending_consent",
              scopes: "",
              expiresAt: null,
              refreshTokenExpiresAt: null,
              refreshTokenWarnedAt: null,
              nextRefreshAt: null,
              refreshAttempts: 0,
              leaseOwner: null,
              leaseUntil: null,
              lastErrorCode: null,
              lastErrorMessage: null,
              lastErrorAt: null,
            }
          : {}),
      },
    });
    if (count !== 1) return false;
    if (reconsent) {
      await tx.tokenSet.deleteMany({ where: { connectionId: c.id, organizationId } });
      // flows started with the old settings must not finish against the new ones
      await tx.consentRequest.updateMany({
        where: { connectionId: c.id, organizationId, usedAt: null, revokedAt: null },
        // the state stays, so a callback already on its way is told the link closed (not "state unknown")
        data: { revokedAt: now },
      });
    }
    return true;
  });
  if (!applied)
    throw new AppError("conflict", "The connection changed while you were editing it. Reload and try again.", {
      i18n: { key: "errors.editConflict" },
    });

  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connection.updated",
      outcome: "success",
      target: { type: "connection", id: c.id },
      // names only: a secret setting's value is never written anywhere but its encrypted column
      details: {
        changed,
        ...(reconsent
          ? { reconsent: true, reconsentBecause: [...reconsentSettings, ...(scopesChanged ? ["scopes"] : [])] }
          : {}),
      },
    },
    db,
  );
  let link: { url: string; expiresAt: Date } | null = null;
  if (reconsent) {
    link = await createConsentLink({ db, organizationId, connectionId: c.id, actor, createdByUserId });
    await emitConnectionEvent({
      db,
      organizationId,
      connectionId: c.id,
      type: "connection.needs_reconsent",
      data: { reason: "settings_changed", changed: reconsentSettings.concat(scopesChanged ? ["scopes"] : []) },
    });
  }
  return {
    connectionId: c.id,
    changed,
    reconsentRequired: reconsent,
    consentUrl: link?.url ?? null,
    consentExpiresAt: link?.expiresAt ?? null,
  };
}
