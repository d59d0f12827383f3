// The REST API's schemas: the handlers validate with these and the OpenAPI document is generated
// from these — one definition, so the document cannot drift from the code.
import { z } from "zod";
import { API_SCOPES } from "@/lib/api-keys/create-api-key";
import { METADATA_KEY, METADATA_MAX_VALUE, ZCreateConnection, ZUpdateConnection } from "@/lib/connections/schemas";
import { CONTENT_TYPES } from "@/lib/activity/management-api";
import { ZExportEnvelope } from "@/lib/crypto/export-envelope";
import { ZExportRequest } from "@/lib/connections/export-connection";
import { ZImportFromExport, ZImportMigration } from "@/lib/connections/import-connection";

export const CONNECTION_STATUSES = ["pending_consent", "active", "needs_reconsent", "error", "revoked"] as const;

export const ZConnectionOut = z
  .object({
    id: z.string(),
    name: z.string(),
    provider: z.string(),
    status: z.enum(CONNECTION_STATUSES),
    tenant_id: z.string().nullable(),
    account: z.object({
      id: z.string().nullable().optional(),
      name: z.string().nullable().optional(),
      email: z.string().nullable().optional(),
    }),
    scopes: z.array(z.string()).describe("The requested scopes: what the next consent asks for."),
    granted_scopes: z
      .array(z.string())
      .describe("What the provider granted at the last consent or refresh (empty before consent)."),
    settings: z.record(z.string(), z.unknown()).describe("The provider settings; secret settings are omitted."),
    secret_settings: z
      .array(z.string())
      .describe("The names of the secret settings that hold a value (their values are never returned)."),
    metadata: z
      .record(z.string(), z.string())
      .describe("Your own keys and values (up to 32; keys `^[a-z0-9_.-]{1,64}$`, values ≤ 512 characters)."),
    created_at: z.string(),
    connected_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    refresh_token_expires_at: z.string().nullable(),
    last_refreshed_at: z.string().nullable(),
    last_error: z
      .object({ code: z.string().nullable(), message: z.string().nullable(), at: z.string().nullable() })
      .nullable(),
  })
  .meta({ id: "Connection" });

/** `?metadata.<key>=<value>`: connections whose metadata has exactly that value (several: all of them). */
export const METADATA_FILTER = /^metadata\.(.*)$/;

export const ZListConnectionsQuery = z
  .object({
    provider: z.string().max(64).optional(),
    status: z.enum(CONNECTION_STATUSES).optional(),
    tenant_id: z.string().max(64).optional(),
    cursor: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  })
  .catchall(z.string())
  .superRefine((q, ctx) => {
    let n = 0;
    for (const [k, v] of Object.entries(q)) {
      const m = METADATA_FILTER.exec(k);
      if (!m) continue;
      n += 1;
      if (!METADATA_KEY.test(m[1]!))
        ctx.addIssue({ code: "custom", path: [k], message: "A metadata key is 1–64 of a-z, 0-9, _ . -" });
      else if (typeof v === "string" && v.length > METADATA_MAX_VALUE)
        ctx.addIssue({ code: "custom", path: [k], message: "A metadata value is at most 512 characters" });
    }
    if (n > 8) ctx.addIssue({ code: "custom", path: ["metadata"], message: "Filter on at most 8 metadata keys" });
  });

export const ZConnectionList = z
  .object({ data: z.array(ZConnectionOut), next_cursor: z.string().nullable() })
  .meta({ id: "ConnectionList" });

export const ZCreateConnectionBody = ZCreateConnection.meta({ id: "CreateConnection" });

export const ZUpdateConnectionBody = ZUpdateConnection.meta({ id: "UpdateConnection" });

export const ZUpdatedConnection = z
  .object({
    connection: ZConnectionOut,
    reconsent_required: z
      .boolean()
      .describe("A setting flagged `reconsentOnChange` or the requested scopes changed: the tokens were deleted."),
    consent_url: z.string().optional().describe("When consent is needed again: a fresh consent link"),
    consent_expires_at: z.string().optional(),
  })
  .meta({ id: "UpdatedConnection" });

export const ZRevocationOut = z
  .object({
    outcome: z
      .enum(["revoked", "unsupported", "failed"])
      .describe(
        "revoked: the provider confirmed; unsupported: the provider has no revocation endpoint; failed: see reason (the local tokens are deleted anyway)",
      ),
    reason: z.string().optional(),
  })
  .nullable()
  .describe("The revocation at the provider; null when the connection was already disconnected");

export const ZDeleteConnectionQuery = z.object({
  purge: z
    .enum(["true", "false"])
    .optional()
    .describe("true: also remove the connection itself and its consent links (the audit trail stays)"),
});

export const ZDeletedConnection = ZConnectionOut.extend({
  revocation: ZRevocationOut,
  purged: z.boolean().describe("true: the connection no longer exists; this is how it was last"),
}).meta({ id: "DeletedConnection" });

export const ZConsentLinkOut = z
  .object({ consent_url: z.string(), consent_expires_at: z.string(), redirect_uri: z.string().nullable() })
  .meta({ id: "ConsentLink" });

export const ZCreatedConnection = z
  .object({
    connection: ZConnectionOut,
    consent_url: z.string().nullable(),
    consent_expires_at: z.string().nullable(),
    redirect_uri: z.string().nullable(),
  })
  .meta({ id: "CreatedConnection" });

export const ZTokenRequest = z
  .object({
    min_validity: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(300)
      .describe("Seconds the returned token must stay valid (default 300)."),
  })
  .strict()
  .meta({ id: "TokenRequest" });

export const ZTokenOut = z
  .object({
    access_token: z.string(),
    token_type: z.string(),
    expires_at: z.string(),
    scopes: z.array(z.string()),
    tenant_id: z.string().nullable().optional(),
    min_validity_met: z
      .boolean()
      .optional()
      .describe("Token endpoint: false when the token lives less than `min_validity` asked for (see `reason`)."),
    reason: z
      .enum(["provider_unavailable", "provider_lifetime_shorter"])
      .optional()
      .describe(
        "Why `min_validity` is not met: the provider failed to issue a newer token (the stored one is still valid), or the provider issues none that lives that long.",
      ),
  })
  .meta({ id: "Token" });

export const ZTestOut = z
  .object({
    ok: z.boolean(),
    status: z.number().int().nullable(),
    message: z.string(),
    summary: z.record(z.string(), z.string()),
    duration_ms: z.number().int(),
  })
  .meta({ id: "TestResult" });

export const ZProviderOut = z
  .object({
    id: z.string(),
    name: z.string(),
    auth_kind: z.enum(["oauth2", "api_key"]),
    docs_url: z.string().nullable(),
    default_scopes: z.array(z.string()),
    app_only_tokens: z.boolean(),
    redirect_uri: z.string().nullable(),
    settings: z.array(
      z.object({
        key: z.string(),
        type: z.string(),
        required: z.boolean(),
        options: z.array(z.string()).nullable(),
        default: z.union([z.string(), z.boolean()]).nullable(),
        pattern: z.string().nullable(),
        secret: z.boolean().describe("Stored encrypted and never returned (listed in `secret_settings`)"),
        reconsent_on_change: z
          .boolean()
          .describe("Changing it after consent deletes the tokens and asks for consent again"),
      }),
    ),
  })
  .meta({ id: "Provider" });
export const ZProviderList = z.object({ data: z.array(ZProviderOut) }).meta({ id: "ProviderList" });

export const ZProblem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    reason: z.string().optional(),
  })
  .loose()
  .meta({ id: "Problem" });

export const ZIdParams = z.object({ id: z.string().min(1).max(64) });
export const ZScope = z.enum(API_SCOPES);

// Office 365 Management Activity API (lib/activity)
export const ZContentType = z.enum(CONTENT_TYPES);
export const ZActivitySubscription = z
  .object({
    content_type: z.string(),
    status: z.enum(["enabled", "disabled", "error", "not_started"]),
    webhook_status: z.string(),
    started_at: z.string().nullable(),
    last_notification_at: z.string().nullable(),
    last_polled_at: z.string().nullable(),
    last_error: z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable(),
  })
  .meta({ id: "ActivitySubscription" });
export const ZActivitySubscriptionList = z.object({ data: z.array(ZActivitySubscription) });
export const ZStartSubscriptionsBody = z.object({
  content_types: z.array(ZContentType).min(1, "Name at least one content type.").max(CONTENT_TYPES.length),
});
export const ZContentTypeParams = ZIdParams.extend({ content_type: ZContentType });
export const ZContentIdParams = ZIdParams.extend({ content_id: z.string().min(1).max(400) });
export const ZListContentQuery = z.object({
  content_type: ZContentType.optional(),
  after: z.string().min(1).max(400).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const ZActivityContent = z
  .object({ content_id: z.string(), content_type: z.string(), created_at: z.string(), expires_at: z.string() })
  .meta({ id: "ActivityContent" });
export const ZActivityContentList = z.object({
  data: z.array(ZActivityContent),
  next_after: z.string().nullable(),
});
export const ZAckOut = z.object({ content_id: z.string(), acknowledged: z.literal(true) });
export const ZAuditRecords = z.array(z.record(z.string(), z.unknown()));

// Moving connections: an encrypted export file, and imports (from such a file, or a migration)
export const ZExportConnectionBody = ZExportRequest.meta({ id: "ExportRequest" });
export const ZExportFile = ZExportEnvelope;
/**
 * The two import bodies, as the document shows them. A body that fits neither is handed on as it is
 * (`catch`): importConnection parses it with the shape its `file` field picks and names the wrong
 * fields, where a failed union would only say "Invalid input".
 */
export const ZImportConnectionBody = z
  .union([
    ZImportFromExport.extend({ file: ZExportEnvelope }).describe(
      "An export file: the organization needs an OAuth app (its own or the platform's) with the file's client id for that provider.",
    ),
    ZImportMigration.describe(
      "A migration: the refresh token is refreshed at once to prove it; nothing is stored if that fails.",
    ),
  ])
  .catch((ctx) => ctx.value as never)
  .meta({ id: "ImportConnection" });
export const ZImportedConnection = z.object({ connection: ZConnectionOut }).meta({ id: "ImportedConnection" });

export const ZOAuthAppOut = z
  .object({
    id: z.string(),
    provider: z.string(),
    name: z.string(),
    client_id: z.string(),
    owner: z.enum(["organization", "platform"]).describe("organization: its own app; platform: the installation's"),
    redirect_uri: z.string().describe("The redirect URI registered at the provider for this app"),
  })
  .meta({ id: "OAuthApp" });
export const ZOAuthAppList = z.object({ data: z.array(ZOAuthAppOut) }).meta({ id: "OAuthAppList" });

// Webhook endpoints (lib/webhooks): what an integrator's backend manages without the portal
export const ZWebhookEndpointOut = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    active: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: "WebhookEndpoint" });
export const ZWebhookEndpointList = z
  .object({ data: z.array(ZWebhookEndpointOut) })
  .meta({ id: "WebhookEndpointList" });
export const ZCreatedWebhookEndpoint = ZWebhookEndpointOut.extend({
  secret: z.string().describe("The signing secret (Standard Webhooks, whsec_…): shown once, here"),
}).meta({ id: "CreatedWebhookEndpoint" });
