// An integrator's backend asks for a connect session: one new connection (validated now, created when
// the session starts) or a reconnect of one of its own, the origins allowed to hear the result, and
// where a redirect ends. The token is single-use, random (256 bits) and stored only as its hash.
import { findUsableOAuthApp } from "@/lib/oauth-apps/find-usable-app";
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError, fieldErrors, type FieldError } from "@/lib/errors";
import { randomToken, sha256 } from "@/lib/oauth/pkce";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { customerUrls, parseProviderSettings } from "@/lib/providers/settings";
import { checkOutboundUrls } from "@/lib/validation/check-outbound-urls";
import { assertAdminConsentAllowed } from "@/lib/connections/create-connection";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { ZCreateConnectSession } from "@/lib/connect-sessions/schemas";
import { parseOrigin, returnUrlProblem } from "@/lib/connect-sessions/origins";

const invalid = (errors: FieldError[]) =>
  new AppError("validation", "Check the highlighted fields.", { errors, i18n: { key: "errors.checkFields" } });

export function connectUrl(token: string): string {
  return `${env().publicUrl}/connect/${token}`;
}

/** The app a new connection uses: the one named, else the organization's own for the provider, else the platform's. */
export async function resolveOAuthAppId(
  db: Db,
  organizationId: string,
  providerId: string,
  oauthAppId: string | undefined,
): Promise<string> {
  const app = oauthAppId
    ? await findUsableOAuthApp(db, organizationId, providerId, oauthAppId)
    : ((await db.oAuthApp.findFirst({
        where: { providerId, organizationId },
        select: { id: true },
        orderBy: { createdAt: "desc" },
      })) ??
      (await db.oAuthApp.findFirst({
        where: { providerId, organizationId: null },
        select: { id: true },
        orderBy: { createdAt: "desc" },
      })));
  if (!app)
    throw invalid([
      { path: "oauth_app_id", message: oauthAppId ? "validation.appNotFound" : "validation.appRequired" },
    ]);
  return app.id;
}

export async function createConnectSession({
  db,
  organizationId,
  input,
  actor,
}: {
  db: Db;
  organizationId: string;
  input: unknown;
  actor: Actor;
}) {
  const parsed = ZCreateConnectSession.safeParse(input);
  if (!parsed.success) throw invalid(fieldErrors(parsed.error.issues));
  const v = parsed.data;
  const provider = PROVIDERS.get(v.provider);
  if (!provider || provider.authKind !== "oauth2")
    throw invalid([{ path: "provider", message: provider ? "validation.providerNotOAuth" : "validation.provider" }]);

  const origins: string[] = [];
  const errors: FieldError[] = [];
  v.allowed_origins.forEach((o, i) => {
    const r = parseOrigin(o);
    if ("problem" in r) errors.push({ path: `allowed_origins.${i}`, message: r.problem });
    else if (!origins.includes(r.origin)) origins.push(r.origin);
  });
  if (errors.length) throw invalid(errors);
  if (v.return_url) {
    const problem = returnUrlProblem(v.return_url, origins);
    if (problem) throw invalid([{ path: "return_url", message: problem }]);
  }

  let connectionId: string | null = null;
  let newConnection: string | null = null;
  if (v.connection_id) {
    if (v.name || v.settings || v.scopes || v.oauth_app_id)
      throw invalid([{ path: "connection_id", message: "validation.reconnectOnly" }]);
    const c = await db.connection.findFirst({
      where: { id: v.connection_id, organizationId },
      select: { id: true, providerId: true },
    });
    // another organization's connection is indistinguishable from a missing one
    if (!c) throw new AppError("not-found", `No connection ${v.connection_id} in this organization.`);
    if (c.providerId !== provider.id) throw invalid([{ path: "provider", message: "validation.providerMismatch" }]);
    connectionId = c.id;
  } else {
    if (!v.name) throw invalid([{ path: "name", message: "validation.nameRequired" }]);
    const settings = parseProviderSettings(provider, v.settings ?? {});
    const refused = await checkOutboundUrls(
      customerUrls(provider, settings).map(({ key, url }) => ({ path: `settings.${key}`, url })),
    );
    if (refused.length) throw invalid(refused);
    const oauthAppId = await resolveOAuthAppId(db, organizationId, provider.id, v.oauth_app_id);
    await assertAdminConsentAllowed(db, provider, settings, oauthAppId);
    newConnection = JSON.stringify({
      provider: provider.id,
      name: v.name,
      settings,
      ...(v.scopes ? { scopes: v.scopes } : {}),
      oauth_app_id: oauthAppId,
    });
  }

  const token = randomToken(32);
  const expiresAt = new Date(Date.now() + v.expires_in * 1000);
  const session = await db.connectSession.create({
    data: {
      organizationId,
      tokenHash: sha256(token),
      providerId: provider.id,
      connectionId,
      newConnection,
      metadata: JSON.stringify(v.metadata ?? {}),
      allowedOrigins: JSON.stringify(origins),
      returnUrl: v.return_url ?? null,
      expiresAt,
    },
  });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connect_session.created",
      outcome: "success",
      target: { type: "connect_session", id: session.id },
      details: {
        provider: provider.id,
        connectionId,
        allowedOrigins: origins,
        expiresAt: expiresAt.toISOString(),
        ...(v.metadata ? { metadata: v.metadata } : {}),
      },
    },
    db,
  );
  return { id: session.id, token, url: connectUrl(token), expiresAt };
}
