// The REST API v1: one table describes every endpoint — method, path, scope, schemas, handler. The
// request handler, the Next route files, the fast path in the production server and the OpenAPI
// document all read this table.
import type { Readable } from "node:stream";
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { ApiPrincipal } from "@/lib/api-keys/authenticate-api-key";
import type { ConnectionTokenRow } from "@/lib/db/hot-queries";
import type { TApiScope } from "@/lib/api-keys/create-api-key";
import {
  ZConnectionList,
  ZConnectionOut,
  ZConsentLinkOut,
  ZCreateConnectionBody,
  ZCreatedConnection,
  ZDeleteConnectionQuery,
  ZDeletedConnection,
  ZUpdateConnectionBody,
  ZUpdatedConnection,
  ZCreatedWebhookEndpoint,
  ZWebhookEndpointList,
  ZWebhookEndpointOut,
  METADATA_FILTER,
  ZIdParams,
  ZListConnectionsQuery,
  ZProviderList,
  ZTestOut,
  ZTokenOut,
  ZTokenRequest,
  ZAckOut,
  ZActivityContentList,
  ZActivitySubscriptionList,
  ZAuditRecords,
  ZContentIdParams,
  ZContentTypeParams,
  ZListContentQuery,
  ZStartSubscriptionsBody,
  ZExportConnectionBody,
  ZExportFile,
  ZImportConnectionBody,
  ZImportedConnection,
  ZOAuthAppList,
} from "@/lib/api/schemas";
import { exportConnection } from "@/lib/connections/export-connection";
import { importConnection } from "@/lib/connections/import-connection";
import { listSubscriptions, startSubscriptions, stopSubscription } from "@/lib/activity/subscriptions";
import { ackContent, listContent } from "@/lib/activity/content";
import { downloadContent } from "@/lib/activity/download";
import { CONNECTION_OUT_SELECT, serializeConnection } from "@/lib/api/serialize";
import { listProviders } from "@/lib/providers/catalogue";
import { callbackUrl } from "@/lib/consent/start-consent";
import { createConnection } from "@/lib/connections/create-connection";
import { createConsentLink } from "@/lib/connections/create-consent-link";
import { testConnection } from "@/lib/connections/test-connection";
import { disconnectConnection } from "@/lib/connections/disconnect-connection";
import { purgeConnection } from "@/lib/connections/purge-connection";
import { updateConnection } from "@/lib/connections/update-connection";
import { createConnectSession } from "@/lib/connect-sessions/create-connect-session";
import {
  getConnectSession,
  revokeConnectSession,
  serializeConnectSession,
} from "@/lib/connect-sessions/connect-session";
import { ZConnectSessionOut, ZCreateConnectSession, ZCreatedConnectSession } from "@/lib/connect-sessions/schemas";
import { createWebhookEndpoint, deleteWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { getAppOnlyToken } from "@/lib/tokens/get-app-only-token";
import { WEBHOOK_EVENTS } from "@/lib/webhooks/events";

export type ApiContext = {
  db: Db;
  principal: ApiPrincipal;
  params: Record<string, string>;
  query: unknown;
  body: unknown;
  requestId: string;
  /** routes with `readsConnection`: connection {id} of the key's organization with its token set, read with the key (null: none such) */
  connection?: ConnectionTokenRow | null;
};
export type ApiResult = {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** a body streamed as it arrives (the Activity API's content blobs) instead of `body` as JSON */
  stream?: Readable;
};

export type ApiRoute = {
  id: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** OpenAPI-style path */
  path: string;
  scope: TApiScope;
  summary: string;
  description?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** query parameters whose names follow a pattern (`metadata.<key>`), for the OpenAPI document */
  queryPatterns?: Array<{ name: string; description: string }>;
  body?: z.ZodType;
  /** the body may be absent (treated as {}) */
  bodyOptional?: boolean;
  response: { status: number; schema: z.ZodType; description: string };
  errors: number[];
  noStore?: boolean;
  /** the handler starts from connection {id} and its token set: read in the same statement as the API key */
  readsConnection?: boolean;
  handler: (ctx: ApiContext) => Promise<ApiResult>;
};

function serializeWebhookEndpoint(w: { id: string; url: string; events: string; active: boolean; createdAt: Date }) {
  return {
    id: w.id,
    url: w.url,
    events: w.events.split(" ").filter(Boolean),
    active: w.active,
    created_at: w.createdAt.toISOString(),
  };
}

/** the API key as the actor of audit events, with the request they happen in */
const actor = ({ principal: p, requestId }: ApiContext) => ({
  type: "api_key" as const,
  id: p.keyId,
  label: p.prefix,
  requestId,
});

async function findConnection(ctx: ApiContext) {
  const { id } = ctx.params as { id: string };
  const c = await ctx.db.connection.findFirst({
    where: { id, organizationId: ctx.principal.organizationId },
    select: CONNECTION_OUT_SELECT,
  });
  // Another organization's connection is indistinguishable from a missing one.
  if (!c) throw new AppError("not-found", `No connection ${id} in this organization.`);
  return c;
}

export const API_ROUTES: ApiRoute[] = [
  {
    id: "listProviders",
    method: "GET",
    path: "/api/v1/providers",
    scope: "connections:read",
    summary: "The provider catalogue",
    description: "Every provider with its auth kind and the settings a connection needs (keys, types, options).",
    response: { status: 200, schema: ZProviderList, description: "The catalogue" },
    errors: [401, 403, 429],
    handler: async () => ({
      status: 200,
      body: {
        data: listProviders().map((p) => ({
          id: p.id,
          name: p.name,
          auth_kind: p.authKind,
          docs_url: p.docsUrl ?? null,
          default_scopes: p.defaultScopes,
          app_only_tokens: Boolean(p.appOnly),
          redirect_uri: p.authKind === "oauth2" ? callbackUrl(p.id) : null,
          settings: p.settings.map((s) => ({
            key: s.key,
            type: s.type,
            required: s.required,
            options: s.options ?? null,
            default: s.default ?? null,
            pattern: s.pattern ?? null,
            secret: s.secret,
            reconsent_on_change: s.reconsentOnChange,
          })),
        })),
      },
    }),
  },
  {
    id: "listOAuthApps",
    method: "GET",
    path: "/api/v1/oauth-apps",
    scope: "connections:read",
    summary: "The OAuth apps this organization may use",
    description: "Its own apps and the platform's, for `oauth_app_id`. Never a secret, private key or certificate.",
    response: { status: 200, schema: ZOAuthAppList, description: "The apps" },
    errors: [401, 403, 429],
    handler: async (ctx) => {
      const apps = await ctx.db.oAuthApp.findMany({
        where: { OR: [{ organizationId: ctx.principal.organizationId }, { organizationId: null }] },
        select: { id: true, organizationId: true, providerId: true, name: true, clientId: true, redirectUri: true },
        orderBy: [{ providerId: "asc" }, { name: "asc" }, { id: "asc" }],
      });
      return {
        status: 200,
        body: {
          data: apps.map((a) => ({
            id: a.id,
            provider: a.providerId,
            name: a.name,
            client_id: a.clientId,
            owner: a.organizationId ? "organization" : "platform",
            redirect_uri: a.redirectUri ?? callbackUrl(a.providerId),
          })),
        },
      };
    },
  },
  {
    id: "listConnections",
    method: "GET",
    path: "/api/v1/connections",
    scope: "connections:read",
    summary: "List connections",
    description: "Newest first, cursor-paginated: pass `next_cursor` back as `cursor`.",
    query: ZListConnectionsQuery,
    queryPatterns: [
      {
        name: "metadata.{key}",
        description:
          "Only connections whose metadata has exactly this value at {key}, e.g. `?metadata.customer_id=c-42` (several: all must match; at most 8).",
      },
    ],
    response: { status: 200, schema: ZConnectionList, description: "A page of connections" },
    errors: [401, 403, 422, 429],
    handler: async (ctx) => {
      const q = ctx.query as z.infer<typeof ZListConnectionsQuery>;
      const wanted = Object.entries(q).flatMap(([k, v]) => {
        const m = METADATA_FILTER.exec(k);
        return m && typeof v === "string" ? [[m[1]!, v] as const] : [];
      });
      const rows = await ctx.db.connection.findMany({
        where: {
          organizationId: ctx.principal.organizationId,
          ...(q.provider ? { providerId: q.provider } : {}),
          ...(q.status ? { status: q.status } : {}),
          ...(q.tenant_id ? { externalTenantId: q.tenant_id.toLowerCase() } : {}),
          // metadata is stored as JSON.stringify of string keys and values: `"key":"value"` (quotes and all,
          // escaped the same way) occurs in it exactly when that key holds that value
          ...(wanted.length
            ? {
                AND: wanted.map(([k, v]) => ({
                  customerMetadata: { contains: `${JSON.stringify(k)}:${JSON.stringify(v)}` },
                })),
              }
            : {}),
        },
        select: CONNECTION_OUT_SELECT,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: q.limit + 1,
        ...(q.cursor ? { cursor: { id: q.cursor }, skip: 1 } : {}),
      });
      if (
        q.cursor &&
        !(await ctx.db.connection.findFirst({
          where: { id: q.cursor, organizationId: ctx.principal.organizationId },
          select: { id: true },
        }))
      ) {
        throw new AppError("validation", "Unknown cursor.", {
          errors: [{ path: "cursor", message: "Not a cursor from a previous page." }],
        });
      }
      const page = rows.slice(0, q.limit);
      // SQLite's LIKE ignores ASCII case: the exact comparison is made here (a page may then be shorter)
      const exact = (c: (typeof page)[number]) => {
        const m = JSON.parse(c.customerMetadata) as Record<string, string>;
        return wanted.every(([k, v]) => m[k] === v);
      };
      return {
        status: 200,
        body: {
          data: (wanted.length ? page.filter(exact) : page).map(serializeConnection),
          next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null,
        },
      };
    },
  },
  {
    id: "createConnection",
    method: "POST",
    path: "/api/v1/connections",
    scope: "connections:write",
    summary: "Create a connection and its consent link",
    description:
      "An inline `oauth_app` creates the organization's own (custom) app. API-key providers take `api_key` and are active at once.",
    body: ZCreateConnectionBody,
    response: {
      status: 201,
      schema: ZCreatedConnection,
      description: "The connection, and the consent link to send to the data owner",
    },
    errors: [401, 403, 422, 429],
    handler: async (ctx) => {
      const c = await createConnection({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        input: ctx.body,
        actor: actor(ctx),
      });
      const row = await ctx.db.connection.findFirstOrThrow({
        where: { id: c.id, organizationId: ctx.principal.organizationId },
        select: { ...CONNECTION_OUT_SELECT, oauthApp: { select: { redirectUri: true } } },
      });
      const link =
        row.status === "pending_consent"
          ? await createConsentLink({
              db: ctx.db,
              organizationId: ctx.principal.organizationId,
              connectionId: c.id,
              actor: actor(ctx),
            })
          : null;
      return {
        status: 201,
        body: {
          connection: serializeConnection(row),
          consent_url: link?.url ?? null,
          consent_expires_at: link?.expiresAt.toISOString() ?? null,
          redirect_uri: row.oauthApp ? (row.oauthApp.redirectUri ?? callbackUrl(row.providerId)) : null,
        },
      };
    },
  },
  {
    // before every /api/v1/connections/{id} route: matchRoute takes the first match in table order
    id: "importConnection",
    method: "POST",
    path: "/api/v1/connections/import",
    scope: "connections:write",
    summary: "Import a connection with its tokens (an export file, or a migration)",
    description:
      "`{ file, passphrase, oauth_app_id? }`: an export file made by `POST /api/v1/connections/{id}/export` (this installation or another). The organization needs an OAuth app, its own or the platform's, for that provider with the file's client id (`oauth_app_id` picks one when several match). The tokens are sealed under this installation's keys; an access token that has expired is refreshed first (refused: the connection arrives `needs_reconsent`). Microsoft's tenant is linked only from a token refreshed here. `{ provider, name, settings?, scopes?, oauth_app_id, refresh_token, access_token?, expires_at?, tenant_id?, metadata? }`: a migration; the refresh token is refreshed at once with the app's credentials, and nothing is stored if that fails (422 refused, 502 provider unreachable). A tenant connected to another organization for the provider gets 409. Either way a new connection id; nothing is stored on any failure.",
    body: ZImportConnectionBody,
    response: { status: 201, schema: ZImportedConnection, description: "The imported connection" },
    errors: [401, 403, 409, 422, 429, 502],
    handler: async (ctx) => {
      const r = await importConnection({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        input: ctx.body,
        actor: actor(ctx),
      });
      const row = await ctx.db.connection.findFirstOrThrow({
        where: { id: r.id, organizationId: ctx.principal.organizationId },
        select: CONNECTION_OUT_SELECT,
      });
      return { status: 201, body: { connection: serializeConnection(row) } };
    },
  },
  {
    id: "getConnection",
    method: "GET",
    path: "/api/v1/connections/{id}",
    scope: "connections:read",
    summary: "One connection (no secrets)",
    params: ZIdParams,
    response: { status: 200, schema: ZConnectionOut, description: "The connection" },
    errors: [401, 403, 404, 429],
    handler: async (ctx) => ({ status: 200, body: serializeConnection(await findConnection(ctx)) }),
  },
  {
    id: "exportConnection",
    method: "POST",
    path: "/api/v1/connections/{id}/export",
    scope: "connections:export",
    summary: "Export a connection as an encrypted file",
    description:
      "The answer is the file (`Content-Disposition: attachment`): a JSON envelope, scrypt (N=131072, r=8, p=1) and AES-256-GCM under `passphrase`, with every header field bound to the ciphertext. Inside: the settings (secret ones too), scopes, tenant, account, metadata, tokens and their expiry, and the OAuth app's client id, provider and redirect URI — never its client secret, private key or certificate, nor any key of this installation. Only `active`, `needs_reconsent` and `error` connections that hold tokens (else 409). Import it with `POST /api/v1/connections/import`.",
    params: ZIdParams,
    body: ZExportConnectionBody,
    response: { status: 200, schema: ZExportFile, description: "The encrypted export file" },
    errors: [401, 403, 404, 409, 422, 429],
    noStore: true,
    handler: async (ctx) => {
      const { id } = ctx.params as { id: string };
      const r = await exportConnection({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        connectionId: id,
        input: ctx.body,
        actor: actor(ctx),
      });
      return {
        status: 200,
        body: r.envelope,
        headers: { "content-disposition": `attachment; filename="${r.filename}"` },
      };
    },
  },
  {
    id: "createConsentLink",
    method: "POST",
    path: "/api/v1/connections/{id}/consent-link",
    scope: "connections:write",
    summary: "A fresh consent link (reconnect keeps the same connection id)",
    params: ZIdParams,
    bodyOptional: true,
    response: { status: 201, schema: ZConsentLinkOut, description: "The link to send to the data owner" },
    errors: [401, 403, 404, 409, 429],
    handler: async (ctx) => {
      const c = await findConnection(ctx);
      const link = await createConsentLink({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        connectionId: c.id,
        actor: actor(ctx),
      });
      const app = await ctx.db.connection.findFirst({
        where: { id: c.id },
        select: { oauthApp: { select: { redirectUri: true } } },
      });
      return {
        status: 201,
        body: {
          consent_url: link.url,
          consent_expires_at: link.expiresAt.toISOString(),
          redirect_uri: app?.oauthApp ? (app.oauthApp.redirectUri ?? callbackUrl(c.providerId)) : null,
        },
      };
    },
  },
  {
    id: "getToken",
    method: "POST",
    path: "/api/v1/connections/{id}/token",
    scope: "tokens:read",
    summary: "A fresh access token",
    description:
      "Valid for at least `min_validity` seconds (default 300); refreshed first only when needed. Never returns the refresh token.",
    params: ZIdParams,
    body: ZTokenRequest,
    bodyOptional: true,
    response: { status: 200, schema: ZTokenOut, description: "The access token" },
    errors: [401, 403, 404, 409, 422, 429, 502],
    noStore: true,
    readsConnection: true,
    handler: async (ctx) => {
      const { id } = ctx.params as { id: string };
      const { min_validity } = ctx.body as z.infer<typeof ZTokenRequest>;
      const t = await getFreshToken({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        connectionId: id,
        minValidity: min_validity,
        requestId: ctx.requestId,
        read: ctx.connection,
      });
      return {
        status: 200,
        body: {
          access_token: t.accessToken,
          token_type: t.tokenType,
          expires_at: t.expiresAt.toISOString(),
          scopes: t.scopes,
          tenant_id: t.tenantId,
          min_validity_met: t.minValidityMet,
          ...(t.reason ? { reason: t.reason } : {}),
        },
      };
    },
  },
  {
    id: "getAppToken",
    method: "POST",
    path: "/api/v1/connections/{id}/app-token",
    scope: "tokens:read",
    summary: "Microsoft: an app-only token for the connection's tenant",
    description:
      "Client credentials at the tenant's token endpoint with the app's certificate (or secret). Cached until 5 minutes before it expires.",
    params: ZIdParams,
    bodyOptional: true,
    response: { status: 200, schema: ZTokenOut, description: "The app-only token" },
    errors: [401, 403, 404, 409, 429, 502],
    noStore: true,
    handler: async (ctx) => {
      const { id } = ctx.params as { id: string };
      const t = await getAppOnlyToken({ db: ctx.db, organizationId: ctx.principal.organizationId, connectionId: id });
      return {
        status: 200,
        body: {
          access_token: t.accessToken,
          token_type: "Bearer",
          expires_at: t.expiresAt.toISOString(),
          scopes: [],
          tenant_id: t.tenantId,
        },
      };
    },
  },
  {
    id: "testConnection",
    method: "POST",
    path: "/api/v1/connections/{id}/test",
    scope: "connections:read",
    summary: "Test the connection with the provider's test request",
    params: ZIdParams,
    bodyOptional: true,
    response: { status: 200, schema: ZTestOut, description: "Status and a redacted summary" },
    errors: [401, 403, 404, 409, 429],
    handler: async (ctx) => {
      const c = await findConnection(ctx);
      const r = await testConnection({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        connectionId: c.id,
        actor: actor(ctx),
      });
      return {
        status: 200,
        body: { ok: r.ok, status: r.status, message: r.message, summary: r.summary, duration_ms: r.durationMs },
      };
    },
  },
  {
    id: "updateConnection",
    method: "PATCH",
    path: "/api/v1/connections/{id}",
    scope: "connections:write",
    summary: "Edit a connection",
    description:
      "`settings` and `metadata` merge (a key set to null is removed); `scopes` replaces the requested set. A change to a setting flagged `reconsentOnChange` (it changes where secrets are sent) or to the requested scopes deletes the tokens in the same transaction, sets `pending_consent` and answers with a fresh `consent_url`; `connection.needs_reconsent` is sent with reason `settings_changed`. Secret settings are write-only.",
    params: ZIdParams,
    body: ZUpdateConnectionBody,
    response: { status: 200, schema: ZUpdatedConnection, description: "The connection as it is now" },
    errors: [401, 403, 404, 409, 422, 429],
    handler: async (ctx) => {
      const c = await findConnection(ctx);
      const r = await updateConnection({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        connectionId: c.id,
        input: ctx.body,
        actor: actor(ctx),
      });
      return {
        status: 200,
        body: {
          connection: serializeConnection(await findConnection(ctx)),
          reconsent_required: r.reconsentRequired,
          ...(r.consentUrl ? { consent_url: r.consentUrl, consent_expires_at: r.consentExpiresAt!.toISOString() } : {}),
        },
      };
    },
  },
  {
    id: "deleteConnection",
    method: "DELETE",
    path: "/api/v1/connections/{id}",
    scope: "connections:write",
    summary: "Disconnect (and, with purge=true, delete permanently)",
    description:
      "Revokes at the provider where it can (the outcome is in `revocation`), deletes the tokens, keeps the audit trail. A failed revocation still deletes the local tokens. `?purge=true` also removes the connection and its consent links; the audit trail stays.",
    params: ZIdParams,
    query: ZDeleteConnectionQuery,
    response: {
      status: 200,
      schema: ZDeletedConnection,
      description: "The connection, now revoked (or as it was last, when purged)",
    },
    errors: [401, 403, 404, 422, 429],
    handler: async (ctx) => {
      const c = await findConnection(ctx);
      const { purge } = ctx.query as z.infer<typeof ZDeleteConnectionQuery>;
      const args = { db: ctx.db, organizationId: ctx.principal.organizationId, connectionId: c.id, actor: actor(ctx) };
      if (purge === "true") {
        const r = await purgeConnection(args);
        const last = serializeConnection({ ...c, status: "revoked", expiresAt: null });
        return { status: 200, body: { ...last, revocation: r.disconnected?.revocation ?? null, purged: true } };
      }
      const r = await disconnectConnection(args);
      return {
        status: 200,
        body: { ...serializeConnection(await findConnection(ctx)), revocation: r.revocation, purged: false },
      };
    },
  },
  {
    id: "listActivitySubscriptions",
    method: "GET",
    path: "/api/v1/connections/{id}/activity/subscriptions",
    scope: "connections:read",
    summary: "Microsoft 365: the Activity API subscriptions, one row per content type",
    description:
      "Status as Microsoft last said it (`not_started` for a type never started), the webhook's status, and the last notification, poll and error.",
    params: ZIdParams,
    response: { status: 200, schema: ZActivitySubscriptionList, description: "One row per content type" },
    errors: [400, 401, 403, 404, 409, 429],
    handler: async (ctx) => ({
      status: 200,
      body: {
        data: await listSubscriptions(ctx.db, ctx.principal.organizationId, (ctx.params as { id: string }).id),
      },
    }),
  },
  {
    id: "startActivitySubscriptions",
    method: "POST",
    path: "/api/v1/connections/{id}/activity/subscriptions",
    scope: "connections:write",
    summary: "Microsoft 365: start Activity API subscriptions",
    description:
      "Starts each content type with the app-only token, with Consentry's listener as the webhook when CONSENTRY_URL is reachable (else polling alone). Already enabled: read back and adopted. A type started less than 15 minutes ago is not started again. Microsoft's refusals are on the rows (`last_error`) with what to do.",
    params: ZIdParams,
    body: ZStartSubscriptionsBody,
    response: { status: 200, schema: ZActivitySubscriptionList, description: "The rows after the attempt" },
    errors: [400, 401, 403, 404, 409, 422, 429],
    handler: async (ctx) => ({
      status: 200,
      body: {
        data: await startSubscriptions({
          db: ctx.db,
          organizationId: ctx.principal.organizationId,
          connectionId: (ctx.params as { id: string }).id,
          contentTypes: (ctx.body as z.infer<typeof ZStartSubscriptionsBody>).content_types,
          actor: actor(ctx),
        }),
      },
    }),
  },
  {
    id: "stopActivitySubscription",
    method: "DELETE",
    path: "/api/v1/connections/{id}/activity/subscriptions/{content_type}",
    scope: "connections:write",
    summary: "Microsoft 365: stop one Activity API subscription",
    params: ZContentTypeParams,
    response: { status: 200, schema: ZActivitySubscriptionList, description: "The rows after stopping" },
    errors: [400, 401, 403, 404, 409, 429, 502],
    handler: async (ctx) => {
      const p = ctx.params as z.infer<typeof ZContentTypeParams>;
      return {
        status: 200,
        body: {
          data: await stopSubscription({
            db: ctx.db,
            organizationId: ctx.principal.organizationId,
            connectionId: p.id,
            contentType: p.content_type,
            actor: actor(ctx),
          }),
        },
      };
    },
  },
  {
    id: "listActivityContent",
    method: "GET",
    path: "/api/v1/connections/{id}/activity/content",
    scope: "connections:read",
    summary: "Microsoft 365: available content blobs, oldest first",
    description:
      "From notifications and the catch-up poll; unacknowledged and unexpired only. Pass `next_after` back as `after` for the next page.",
    params: ZIdParams,
    query: ZListContentQuery,
    response: { status: 200, schema: ZActivityContentList, description: "A page of content blobs" },
    errors: [400, 401, 403, 404, 409, 422, 429],
    handler: async (ctx) => {
      const { id } = ctx.params as { id: string };
      const q = ctx.query as z.infer<typeof ZListContentQuery>;
      await findConnection(ctx);
      return {
        status: 200,
        body: await listContent({
          db: ctx.db,
          organizationId: ctx.principal.organizationId,
          connectionId: id,
          contentType: q.content_type,
          after: q.after,
          limit: q.limit,
        }),
      };
    },
  },
  {
    id: "downloadActivityContent",
    method: "GET",
    path: "/api/v1/connections/{id}/activity/content/{content_id}",
    scope: "tokens:read",
    summary: "Microsoft 365: download one content blob (streamed)",
    description:
      "Fetched from Microsoft with the app-only token and streamed as it arrives: Microsoft's JSON array of audit records.",
    params: ZContentIdParams,
    response: { status: 200, schema: ZAuditRecords, description: "The audit records" },
    errors: [400, 401, 403, 404, 409, 429, 502],
    noStore: true,
    handler: async (ctx) => {
      const p = ctx.params as z.infer<typeof ZContentIdParams>;
      const d = await downloadContent({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        connectionId: p.id,
        contentId: p.content_id,
      });
      return { status: 200, body: null, stream: d.stream, headers: { "content-type": d.contentType } };
    },
  },
  {
    id: "ackActivityContent",
    method: "POST",
    path: "/api/v1/connections/{id}/activity/content/{content_id}/ack",
    scope: "connections:write",
    summary: "Microsoft 365: mark a content blob processed",
    description: "It is left out of later listings and pruned a day later.",
    params: ZContentIdParams,
    bodyOptional: true,
    response: { status: 200, schema: ZAckOut, description: "Acknowledged" },
    errors: [401, 403, 404, 429],
    handler: async (ctx) => {
      const p = ctx.params as z.infer<typeof ZContentIdParams>;
      await ackContent(ctx.db, ctx.principal.organizationId, p.id, p.content_id);
      return { status: 200, body: { content_id: p.content_id, acknowledged: true } };
    },
  },
  {
    id: "createConnectSession",
    method: "POST",
    path: "/api/v1/connect-sessions",
    scope: "connections:write",
    summary: "A connect session: consent embedded in your product",
    description:
      "For a new connection (`name`, `settings`, `scopes`, `metadata`, `oauth_app_id`; the default app is the organization's own for that provider, else the platform's) or a reconnect (`connection_id`). Open `connect_url` with connect.js as a popup or a redirect; the result is posted only to `allowed_origins` (https) and a redirect ends at `return_url` (on one of them). Single use; 30 minutes by default, at most 7 days.",
    body: ZCreateConnectSession.meta({ id: "CreateConnectSession" }),
    response: { status: 201, schema: ZCreatedConnectSession, description: "The session and its single-use URL" },
    errors: [401, 403, 404, 422, 429],
    noStore: true,
    handler: async (ctx) => {
      const s = await createConnectSession({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        input: ctx.body,
        actor: actor(ctx),
      });
      return {
        status: 201,
        body: { id: s.id, session_token: s.token, connect_url: s.url, expires_at: s.expiresAt.toISOString() },
      };
    },
  },
  {
    id: "getConnectSession",
    method: "GET",
    path: "/api/v1/connect-sessions/{id}",
    scope: "connections:read",
    summary: "A connect session's status",
    description:
      "`pending` until the data owner finishes; then `connected` (with `connection_id`) or `error`; `expired` when never started in time.",
    params: ZIdParams,
    response: { status: 200, schema: ZConnectSessionOut, description: "The session" },
    errors: [401, 403, 404, 429],
    handler: async (ctx) => ({
      status: 200,
      body: serializeConnectSession(
        await getConnectSession(ctx.db, ctx.principal.organizationId, (ctx.params as { id: string }).id),
      ),
    }),
  },
  {
    id: "revokeConnectSession",
    method: "DELETE",
    path: "/api/v1/connect-sessions/{id}",
    scope: "connections:write",
    summary: "Revoke an unused connect session",
    description:
      "Its page then says so and tells the opener `error` (`revoked`). A session already started cannot be revoked (409).",
    params: ZIdParams,
    response: { status: 200, schema: ZConnectSessionOut, description: "The session, revoked" },
    errors: [401, 403, 404, 409, 429],
    handler: async (ctx) => ({
      status: 200,
      body: serializeConnectSession(
        await revokeConnectSession(ctx.db, ctx.principal.organizationId, (ctx.params as { id: string }).id, actor(ctx)),
      ),
    }),
  },
  {
    id: "listWebhookEndpoints",
    method: "GET",
    path: "/api/v1/webhook-endpoints",
    scope: "connections:write",
    summary: "The organization's webhook endpoints",
    response: { status: 200, schema: ZWebhookEndpointList, description: "Every endpoint (never its secret)" },
    errors: [401, 403, 429],
    handler: async (ctx) => {
      const rows = await ctx.db.webhookEndpoint.findMany({
        where: { organizationId: ctx.principal.organizationId },
        select: { id: true, url: true, events: true, active: true, createdAt: true },
        orderBy: { createdAt: "asc" },
      });
      return { status: 200, body: { data: rows.map(serializeWebhookEndpoint) } };
    },
  },
  {
    id: "createWebhookEndpoint",
    method: "POST",
    path: "/api/v1/webhook-endpoints",
    scope: "connections:write",
    summary: "Subscribe a URL to events",
    description:
      "Events are signed with the Standard Webhooks scheme; the signing secret is returned once, here. At most 20 endpoints per organization.",
    body: z
      .object({
        url: z.string().max(2048),
        events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
      })
      .strict()
      .meta({ id: "CreateWebhookEndpoint" }),
    response: { status: 201, schema: ZCreatedWebhookEndpoint, description: "The endpoint and its secret (once)" },
    errors: [401, 403, 409, 422, 429],
    noStore: true,
    handler: async (ctx) => {
      const { id, secret } = await createWebhookEndpoint({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        input: ctx.body,
        actor: actor(ctx),
      });
      const row = await ctx.db.webhookEndpoint.findFirstOrThrow({
        where: { id, organizationId: ctx.principal.organizationId },
        select: { id: true, url: true, events: true, active: true, createdAt: true },
      });
      return { status: 201, body: { ...serializeWebhookEndpoint(row), secret } };
    },
  },
  {
    id: "deleteWebhookEndpoint",
    method: "DELETE",
    path: "/api/v1/webhook-endpoints/{id}",
    scope: "connections:write",
    summary: "Delete a webhook endpoint",
    params: ZIdParams,
    response: { status: 200, schema: ZWebhookEndpointOut, description: "The endpoint as it was" },
    errors: [401, 403, 404, 429],
    handler: async (ctx) => {
      const { id } = ctx.params as { id: string };
      const row = await ctx.db.webhookEndpoint.findFirst({
        where: { id, organizationId: ctx.principal.organizationId },
        select: { id: true, url: true, events: true, active: true, createdAt: true },
      });
      if (!row) throw new AppError("not-found", `No webhook endpoint ${id} in this organization.`);
      await deleteWebhookEndpoint({
        db: ctx.db,
        organizationId: ctx.principal.organizationId,
        endpointId: id,
        actor: actor(ctx),
      });
      return { status: 200, body: serializeWebhookEndpoint(row) };
    },
  },
];

/** Each route's path as a regular expression, compiled once: `{name}` segments capture params. */
const COMPILED = API_ROUTES.map((route) => {
  const names: string[] = [];
  const re = new RegExp(`^${route.path.replace(/\{(\w+)\}/g, (_m, n: string) => (names.push(n), "([^/]+)"))}$`);
  return { route, re, names };
});

/** decodeURIComponent, or null for a malformed escape (instead of throwing). */
export function safeDecode(s: string): string | null {
  if (!s.includes("%")) return s; // nothing to decode (the usual id)
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** Matches a method and path against the table. */
export function matchRoute(
  method: string,
  pathname: string,
): { route: ApiRoute; params: Record<string, string> } | { allow: string[] } | null {
  const allow: string[] = [];
  for (const { route, re, names } of COMPILED) {
    const m = re.exec(pathname);
    if (!m) continue;
    if (route.method !== method) {
      allow.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) {
      const value = safeDecode(m[i + 1]!);
      if (value === null) return null; // a malformed %-escape names no resource
      params[names[i]!] = value;
    }
    return { route, params };
  }
  return allow.length ? { allow } : null;
}
