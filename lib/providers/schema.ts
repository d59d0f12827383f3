// What a provider is: typed data, validated when the catalogue loads. Code branches on these
// flags, never on provider ids (Nango's providers.yaml is the model).
import { z } from "zod";

/** A URL template: `{hosts.x}`, `{settings.x}`, `{tenant}`, `{metadata.x}` are filled in; nothing else. */
const ZTemplate = z.string().min(1);

/** Where a revocation URL carries the token, URL-encoded (HubSpot's DELETE …/refresh-tokens/{token}). */
export const TOKEN_PLACEHOLDER = "{token}";

/**
 * Revoking the grant at the provider when a connection is disconnected (RFC 7009 or the provider's own
 * endpoint). The token goes in the path (`{token}` in `url`) or in the form parameter `tokenParam`.
 */
export const ZRevocation = z
  .object({
    method: z.enum(["POST", "DELETE"]).default("POST"),
    url: ZTemplate,
    /** the form parameter carrying the token ("token" in RFC 7009); absent when `url` has `{token}` */
    tokenParam: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/)
      .optional(),
    /** which stored token is revoked; "refresh_or_access": the refresh token, else the access token */
    token: z.enum(["refresh", "access", "refresh_or_access"]),
    /** send RFC 7009's token_type_hint (refresh_token / access_token) beside the token */
    tokenTypeHint: z.boolean().default(false),
    /** "provider": the provider's clientAuth, or the connection's client_auth setting (lib/providers/resolve-url.ts) */
    clientAuth: z.enum(["none", "client_secret_post", "client_secret_basic", "provider"]),
    /** the answers that mean "revoked"; default any 2xx */
    successStatuses: z.array(z.number().int().min(200).max(299)).min(1).optional(),
  })
  .superRefine((r, ctx) => {
    const inPath = r.url.includes(TOKEN_PLACEHOLDER);
    if (inPath === Boolean(r.tokenParam))
      ctx.addIssue({
        code: "custom",
        message: "revocation: the token goes either in the URL ({token}) or in tokenParam",
      });
    if (r.tokenTypeHint && !r.tokenParam)
      ctx.addIssue({ code: "custom", message: "revocation: tokenTypeHint is a form parameter and needs tokenParam" });
    // a DELETE carries no body: nothing may need one
    if (r.method === "DELETE" && (r.tokenParam || !["none", "client_secret_basic"].includes(r.clientAuth)))
      ctx.addIssue({
        code: "custom",
        message: "revocation: a DELETE has no form body (no tokenParam, no client_secret_post)",
      });
  });
export type TRevocation = z.infer<typeof ZRevocation>;

export const ZSetting = z.object({
  key: z.string().regex(/^[a-z][a-z0-9_]*$/),
  type: z.enum(["string", "url", "host", "enum", "key_values", "boolean"]),
  required: z.boolean().default(false),
  /** for `string` and `host` */
  pattern: z.string().optional(),
  options: z.array(z.string()).optional(),
  default: z.union([z.string(), z.boolean()]).optional(),
  /** secret settings are stored encrypted (e.g. an API key) */
  secret: z.boolean().default(false),
  example: z.string().optional(),
  /** changing it after consent wipes tokens and forces re-consent (it changes where secrets are sent) */
  reconsentOnChange: z.boolean().default(false),
  /** a key_values setting whose entries are HTTP headers added to API calls (proxy, test request) */
  headers: z.boolean().default(false),
});
export type TSetting = z.infer<typeof ZSetting>;

/** The failures a provider's own numeric error code can decide (lib/oauth/token-errors.ts). */
export const ZErrorCodeClass = z.enum([
  "needs_reconsent",
  "consent_missing",
  "app_misconfigured",
  "clock_skew",
  "retryable",
]);

/** A provider's numeric error codes by the failure each one means. */
export const ZErrorCodeTable = z.partialRecord(ZErrorCodeClass, z.array(z.number().int().nonnegative())).default({});
export type TErrorCodeTable = z.infer<typeof ZErrorCodeTable>;

export const ZProvider = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/),
    name: z.string(),
    /**
     * A url setting whose host names the provider to the data owner, instead of `name` (the generic
     * provider: "Continue to auth.example.com", not "Continue to Generic OAuth 2.0").
     */
    displayHostSetting: z.string().optional(),
    /** "oauth2": authorization code flow; "api_key": a key the user pastes */
    authKind: z.enum(["oauth2", "api_key"]),
    docsUrl: z.url().optional(),
    /** named base URLs, overridable per installation (CONSENTRY_PROVIDER_HOSTS), e.g. { login: "https://login.windows.net" } */
    hosts: z.record(z.string(), ZTemplate),
    settings: z.array(ZSetting).default([]),
    authorizationUrl: ZTemplate.optional(),
    tokenUrl: ZTemplate.optional(),
    refreshUrl: ZTemplate.optional(),
    /** absent: the provider documents no way to revoke a grant (the disconnect outcome is "unsupported") */
    revocation: ZRevocation.optional(),
    authorizationParams: z.record(z.string(), z.string()).default({}),
    tokenParams: z.record(z.string(), z.string()).default({}),
    /** user-entered extra authorization parameters come from this key_values setting */
    authorizationParamsSetting: z.string().optional(),
    scopeSeparator: z.enum([" ", ",", "+"]).default(" "),
    defaultScopes: z.array(z.string()).default([]),
    /** the scope parameter is not sent at all (Azure AD v1 uses `resource`) */
    omitScopeParam: z.boolean().default(false),
    clientAuth: z.enum(["client_secret_post", "client_secret_basic"]).default("client_secret_post"),
    pkce: z.boolean().default(false),
    /** the setting that switches PKCE off for a generic provider, if any */
    pkceSetting: z.string().optional(),
    /**
     * RFC 9207: the issuer the authorization server names in `iss` on its callback; when it renders
     * (e.g. "{settings.issuer}", an optional setting), a callback without it or with another is refused.
     */
    callbackIssuer: ZTemplate.optional(),
    /** which callback parameter carries the grant */
    callbackCodeParam: z.string().default("code"),
    /**
     * A callback parameter that names the host to exchange the code at (Zoho's `accounts-server`),
     * honoured only when it matches `allow`; it replaces host `host`.
     */
    callbackHostParam: z.object({ param: z.string(), host: z.string(), allow: z.string() }).optional(),
    expiry: z
      .object({
        expiresInField: z.string().default("expires_in"),
        expiresOnField: z.string().optional(),
        refreshExpiresInField: z.string().optional(),
        /** used when the response says nothing: never "forever" */
        defaultLifetimeSeconds: z.number().int().positive().default(3600),
        /** known refresh-token lifetime when the response does not say */
        refreshTokenLifetimeSeconds: z.number().int().positive().optional(),
      })
      .default({ expiresInField: "expires_in", defaultLifetimeSeconds: 3600 }),
    /**
     * Providers whose token errors are not RFC 6749 shaped: read the error from this JSON field and
     * map its values to OAuth error codes (HubSpot: {"status":"BAD_REFRESH_TOKEN"} → invalid_grant).
     */
    errorField: z.string().optional(),
    errorAliases: z.record(z.string(), z.string()).default({}),
    /**
     * Refresh grants the provider allows per refresh token in a window (Zoho: 10 in 10 minutes, then it
     * refuses for a while). Consentry stops short of it: a refresh beyond it is not sent, and callers
     * are served the stored token while it still works (lib/limits/provider-refresh-limit.ts).
     */
    refreshLimit: z.object({ max: z.number().int().positive(), windowSeconds: z.number().int().positive() }).optional(),
    /**
     * Numeric codes sent beside `error` (Microsoft's `error_codes`): a listed code decides the failure
     * whatever `error` says, so AADSTS65001 with invalid_grant is missing consent, not a dead grant.
     */
    errorCodes: ZErrorCodeTable,
    /** how people know those codes: "AADSTS" + 7000215 in an operator's alert and in messages */
    errorCodePrefix: z.string().default(""),
    /**
     * Where the provider's API lives, for the proxy (/api/v1/connections/{id}/proxy/…): a template over
     * the catalogue's hosts, settings and metadata. Requests go to this origin and below this path only.
     */
    apiBaseUrl: ZTemplate.optional(),
    /** how the token is sent to the provider's API */
    apiAuth: z
      .object({
        header: z.string().default("Authorization"),
        prefix: z.string().default("Bearer "),
        queryParam: z.string().optional(),
      })
      .default({ header: "Authorization", prefix: "Bearer " }),
    /** claims read from the (JWT) access token we obtained ourselves */
    tenantFromAccessToken: z
      .object({
        tenantClaim: z.string(),
        nameClaim: z.string().optional(),
        emailClaim: z.string().optional(),
        idClaim: z.string().optional(),
      })
      .optional(),
    /** non-secret token-response fields kept on the connection, e.g. Zoho's api_domain (must match its allow pattern) */
    tokenResponseMetadata: z.array(z.object({ field: z.string(), allow: z.string() })).default([]),
    test: z
      .object({
        method: z.enum(["GET", "POST"]).default("GET"),
        url: ZTemplate,
        /** query parameters (templates), e.g. Zoho's organization_id */
        query: z.record(z.string(), ZTemplate).default({}),
        /** JSON fields shown in the redacted summary (dot paths) */
        summaryFields: z.array(z.string()).default([]),
        /** which summary fields identify the account */
        accountName: z.string().optional(),
        accountEmail: z.string().optional(),
        accountId: z.string().optional(),
      })
      .optional(),
    /** Microsoft: app-only tokens per tenant by client credentials (certificate assertion or secret) */
    appOnly: z
      .object({
        tokenUrl: ZTemplate,
        params: z.record(z.string(), z.string()).default({}),
        intervalSeconds: z.number().int().positive().default(2700),
      })
      .optional(),
    /** Microsoft v2 admin consent: no code comes back, only `tenant`; the tenant is proven by an app-only token */
    adminConsent: z
      .object({
        url: ZTemplate,
        params: z.record(z.string(), z.string()).default({}),
        setting: z.string(),
        value: z.string(),
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    if (p.authKind === "oauth2" && (!p.authorizationUrl || !p.tokenUrl))
      ctx.addIssue({ code: "custom", message: `${p.id}: oauth2 providers need authorizationUrl and tokenUrl` });
    // A code in two classes would be decided by the order of the table rather than by the data.
    const classOf = new Map<number, string>();
    for (const [cls, codes] of Object.entries(p.errorCodes))
      for (const code of codes ?? []) {
        const other = classOf.get(code);
        if (other && other !== cls)
          ctx.addIssue({ code: "custom", path: ["errorCodes", cls], message: `${p.id}: ${code} is also ${other}` });
        classOf.set(code, cls);
      }
  });
export type TProvider = z.infer<typeof ZProvider>;
export type TProviderInput = z.input<typeof ZProvider>;
