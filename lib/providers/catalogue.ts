// The provider catalogue. Adding a provider = one entry here + an emulator fixture in tests.
import { ZProvider, type TProvider, type TProviderInput } from "@/lib/providers/schema";

const ZOHO_DCS = ["com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa", "uk"];
const ZOHO_DC_RE = ZOHO_DCS.map((d) => d.replace(/\./g, "\\.")).join("|");

const ENTRIES: TProviderInput[] = [
  {
    id: "microsoft-365-management",
    name: "Microsoft 365 (Office 365 Management API)",
    authKind: "oauth2",
    docsUrl: "https://learn.microsoft.com/office/office-365-management-api/get-started-with-office-365-management-apis",
    hosts: { login: "https://login.windows.net", api: "https://manage.office.com" },
    settings: [{ key: "consent_mode", type: "enum", options: ["v1_code", "v2_admin_consent"], default: "v1_code" }],
    // Seed 000: tenant-admin consent through the v1 endpoint, code exchange at the common endpoint.
    authorizationUrl: "{hosts.login}/common/oauth2/authorize",
    tokenUrl: "{hosts.login}/common/oauth2/token",
    authorizationParams: { resource: "https://manage.office.com" },
    tokenParams: { resource: "https://manage.office.com" },
    omitScopeParam: true,
    clientAuth: "client_secret_post",
    pkce: false,
    expiry: { expiresInField: "expires_in", expiresOnField: "expires_on", defaultLifetimeSeconds: 3599 },
    // SECURITY.md Azure 15: the AADSTS number decides, never the description text.
    errorCodes: {
      // expired, revoked, idle for 90 days, already redeemed, or a fresh sign-in is required
      needs_reconsent: [70008, 700082, 70043, 54005, 50173, 50133],
      // consent never given, declined or withdrawn, or the app or resource is not in the tenant
      consent_missing: [65001, 90094, 700016, 500011, 65004],
      // our secret or certificate is wrong, expired or missing: an operator acts, connections are untouched
      app_misconfigured: [7000215, 7000222, 700027, 7000218, 700023, 50012],
      clock_skew: [700024],
      // loop detected, transient directory outage
      retryable: [50196, 90033],
    },
    errorCodePrefix: "AADSTS",
    // No revocation: Azure AD v1 has no token revocation endpoint; grants end by removing the enterprise
    // app or by revokeSignInSessions (https://learn.microsoft.com/graph/api/user-revokesigninsessions).
    tenantFromAccessToken: { tenantClaim: "tid", nameClaim: "name", emailClaim: "upn", idClaim: "oid" },
    apiBaseUrl: "{hosts.api}",
    test: { url: "{hosts.api}/api/v1.0/{tenant}/activity/feed/subscriptions/list", summaryFields: [] },
    appOnly: {
      tokenUrl: "{hosts.login}/{tenant}/oauth2/token",
      // sent as they stand, in this order, then grant_type and the client's credentials (seed 000's body)
      params: { resource: "https://manage.office.com" },
      intervalSeconds: 2700,
    },
    adminConsent: {
      url: "{hosts.login}/common/adminconsent",
      params: {},
      setting: "consent_mode",
      value: "v2_admin_consent",
    },
  },
  {
    id: "generic-oauth2",
    name: "Generic OAuth 2.0 (your own app)",
    displayHostSetting: "authorization_url",
    authKind: "oauth2",
    hosts: {},
    // Seed 001 (trocco): every URL is the customer's.
    settings: [
      {
        key: "authorization_url",
        type: "url",
        required: true,
        example: "https://auth.example.com/oauth/authorize",
        reconsentOnChange: true,
      },
      {
        key: "token_url",
        type: "url",
        required: true,
        example: "https://auth.example.com/oauth/token",
        reconsentOnChange: true,
      },
      { key: "refresh_url", type: "url", required: false, reconsentOnChange: true },
      { key: "authorization_params", type: "key_values", required: false },
      {
        key: "client_auth",
        type: "enum",
        options: ["client_secret_post", "client_secret_basic"],
        default: "client_secret_post",
      },
      { key: "use_pkce", type: "boolean", default: true },
      // The test request and the proxy carry the access token: changing where it goes needs consent again.
      { key: "test_url", type: "url", required: false, reconsentOnChange: true },
      { key: "api_base_url", type: "url", required: false, reconsentOnChange: true },
      // Headers an API gateway wants beside the token (e.g. Apigee's or Azure API Management's key):
      // sent by the proxy and the test request, stored encrypted, never shown again.
      { key: "api_headers", type: "key_values", required: false, secret: true, headers: true },
      // RFC 9207 mix-up defence for servers that send `iss` on the redirect
      { key: "issuer", type: "url", required: false, reconsentOnChange: true },
      // RFC 7009: the refresh token and the client's credentials go here on disconnect (SECURITY #34)
      { key: "revocation_url", type: "url", required: false, reconsentOnChange: true },
    ],
    callbackIssuer: "{settings.issuer}",
    authorizationUrl: "{settings.authorization_url}",
    tokenUrl: "{settings.token_url}",
    refreshUrl: "{settings.refresh_url}",
    authorizationParamsSetting: "authorization_params",
    pkce: true,
    pkceSetting: "use_pkce",
    scopeSeparator: " ",
    clientAuth: "client_secret_post",
    expiry: {
      expiresInField: "expires_in",
      refreshExpiresInField: "refresh_token_expires_in",
      defaultLifetimeSeconds: 3600,
    },
    apiBaseUrl: "{settings.api_base_url}",
    test: { url: "{settings.test_url}", summaryFields: [] },
    // RFC 7009 §2.1 (https://www.rfc-editor.org/rfc/rfc7009#section-2.1); no revocation_url: "unsupported"
    revocation: {
      method: "POST",
      url: "{settings.revocation_url}",
      tokenParam: "token",
      token: "refresh_or_access",
      tokenTypeHint: true,
      clientAuth: "provider",
    },
  },
  {
    id: "webex",
    name: "Webex",
    authKind: "oauth2",
    docsUrl: "https://developer.webex.com/docs/integrations",
    hosts: { api: "https://webexapis.com" },
    authorizationUrl: "{hosts.api}/v1/authorize",
    tokenUrl: "{hosts.api}/v1/access_token",
    scopeSeparator: " ",
    defaultScopes: ["spark:people_read"],
    // Seed 002: client id and secret go in the form body.
    clientAuth: "client_secret_post",
    pkce: false,
    expiry: {
      expiresInField: "expires_in",
      refreshExpiresInField: "refresh_token_expires_in",
      defaultLifetimeSeconds: 14 * 86400,
      refreshTokenLifetimeSeconds: 90 * 86400,
    },
    apiBaseUrl: "{hosts.api}",
    // No revocation: Webex documents only the admin-only Authorizations API for it
    // (https://developer.webex.com/docs/api/v1/authorizations), no endpoint an integration calls itself.
    test: {
      url: "{hosts.api}/v1/people/me",
      summaryFields: ["displayName", "emails.0", "orgId"],
      accountName: "displayName",
      accountEmail: "emails.0",
      accountId: "id",
    },
  },
  {
    id: "backlog",
    name: "Backlog",
    authKind: "oauth2",
    docsUrl: "https://developer.nulab.com/docs/backlog/auth",
    hosts: { space: "https://{settings.space}" },
    settings: [
      {
        key: "space",
        type: "host",
        required: true,
        pattern: "^[a-z0-9-]+\\.(backlog\\.(com|jp)|backlogtool\\.com)$",
        example: "example.backlog.com",
        reconsentOnChange: true,
      },
    ],
    authorizationUrl: "{hosts.space}/OAuth2AccessRequest.action",
    tokenUrl: "{hosts.space}/api/v2/oauth2/token",
    // No revocation: Nulab documents authorization and token endpoints only
    // (https://developer.nulab.com/docs/backlog/auth).
    clientAuth: "client_secret_post",
    expiry: { expiresInField: "expires_in", defaultLifetimeSeconds: 3600 },
    apiBaseUrl: "{hosts.space}",
    test: {
      url: "{hosts.space}/api/v2/users/myself",
      summaryFields: ["name", "userId", "mailAddress"],
      accountName: "name",
      accountEmail: "mailAddress",
      accountId: "id",
    },
  },
  {
    id: "backlog-api-key",
    name: "Backlog (API key)",
    authKind: "api_key",
    docsUrl: "https://support.nulab.com/hc/articles/8471268098841",
    hosts: { space: "https://{settings.space}" },
    settings: [
      {
        key: "space",
        type: "host",
        required: true,
        pattern: "^[a-z0-9-]+\\.(backlog\\.(com|jp)|backlogtool\\.com)$",
        example: "example.backlog.com",
        reconsentOnChange: true,
      },
    ],
    apiAuth: { header: "", prefix: "", queryParam: "apiKey" },
    apiBaseUrl: "{hosts.space}",
    test: {
      url: "{hosts.space}/api/v2/users/myself",
      summaryFields: ["name", "userId", "mailAddress"],
      accountName: "name",
      accountEmail: "mailAddress",
      accountId: "id",
    },
  },
  {
    id: "zoho-inventory",
    name: "Zoho Inventory",
    authKind: "oauth2",
    docsUrl: "https://www.zoho.com/inventory/api/v1/oauth/",
    hosts: { accounts: "https://accounts.zoho.{settings.data_centre}" },
    settings: [
      { key: "data_centre", type: "enum", options: ZOHO_DCS, default: "com", reconsentOnChange: true },
      { key: "organization_id", type: "string", required: true, pattern: "^[0-9]{1,20}$", example: "10234695" },
    ],
    authorizationUrl: "{hosts.accounts}/oauth/v2/auth",
    tokenUrl: "{hosts.accounts}/oauth/v2/token",
    // https://www.zoho.com/accounts/protocol/oauth/revoke-refresh-token.html: POST, `token`, no client
    // authentication, {"status":"success"}; at the accounts-server the callback named (metadata host.accounts).
    revocation: {
      method: "POST",
      url: "{hosts.accounts}/oauth/v2/token/revoke",
      tokenParam: "token",
      token: "refresh",
      clientAuth: "none",
    },
    authorizationParams: { access_type: "offline", prompt: "consent" },
    scopeSeparator: ",",
    defaultScopes: ["ZohoInventory.FullAccess.all"],
    clientAuth: "client_secret_post",
    // Zoho answers a dead refresh token with HTTP 200 {"error":"invalid_code"}, and its token rate limit
    // with HTTP 400 {"error":"Access Denied"} (a space: not a code Consentry accepts as it is).
    errorAliases: { invalid_code: "invalid_grant", "Access Denied": "slow_down" },
    // "You can only generate ten access tokens in a span of ten minutes" per refresh token (Zoho's OAuth docs)
    refreshLimit: { max: 10, windowSeconds: 600 },
    callbackHostParam: {
      param: "accounts-server",
      host: "accounts",
      allow: `^https://accounts\\.zoho\\.(${ZOHO_DC_RE})$`,
    },
    expiry: { expiresInField: "expires_in", defaultLifetimeSeconds: 3600 },
    apiAuth: { header: "Authorization", prefix: "Zoho-oauthtoken " },
    tokenResponseMetadata: [{ field: "api_domain", allow: `^https://www\\.zohoapis\\.(${ZOHO_DC_RE})$` }],
    apiBaseUrl: "{metadata.api_domain}",
    test: {
      url: "{metadata.api_domain}/inventory/v1/organizations",
      query: { organization_id: "{settings.organization_id}" },
      summaryFields: ["message", "organizations.0.name", "organizations.0.organization_id"],
    },
  },
  {
    id: "hubspot",
    name: "HubSpot",
    authKind: "oauth2",
    docsUrl: "https://developers.hubspot.com/docs/api/oauth-quickstart-guide",
    hosts: { app: "https://app.hubspot.com", api: "https://api.hubapi.com" },
    authorizationUrl: "{hosts.app}/oauth/authorize",
    tokenUrl: "{hosts.api}/oauth/v1/token",
    scopeSeparator: " ",
    defaultScopes: ["oauth"],
    clientAuth: "client_secret_post",
    expiry: { expiresInField: "expires_in", defaultLifetimeSeconds: 1800 },
    errorField: "status",
    errorAliases: {
      BAD_REFRESH_TOKEN: "invalid_grant",
      BAD_AUTH_CODE: "invalid_grant",
      BAD_CLIENT_ID: "invalid_client",
      BAD_CLIENT_SECRET: "invalid_client",
      BAD_REDIRECT_URI: "invalid_grant",
    },
    // "Delete a refresh token": no client authentication, 204 without a body
    // (https://developers.hubspot.com/docs/api-reference/auth-oauth-v1/refresh-tokens/delete-oauth-v1-refresh-tokens-token)
    revocation: {
      method: "DELETE",
      url: "{hosts.api}/oauth/v1/refresh-tokens/{token}",
      token: "refresh",
      clientAuth: "none",
      successStatuses: [204],
    },
    apiBaseUrl: "{hosts.api}",
    test: {
      url: "{hosts.api}/account-info/v3/details",
      summaryFields: ["portalId", "uiDomain", "timeZone"],
      accountId: "portalId",
    },
  },
];

export const PROVIDERS: ReadonlyMap<string, TProvider> = new Map(
  ENTRIES.map((e) => {
    const p = ZProvider.parse(e);
    return [p.id, p] as const;
  }),
);

/** How a connection's provider is named to the people who approve it: the catalogue's name, or a host. */
export function providerDisplayName(providerId: string, settings: Record<string, unknown> = {}): string {
  const p = PROVIDERS.get(providerId);
  if (!p) return providerId;
  const v = p.displayHostSetting ? settings[p.displayHostSetting] : undefined;
  if (typeof v === "string" && URL.canParse(v)) return new URL(v).host;
  return p.name;
}

export function listProviders(): TProvider[] {
  return [...PROVIDERS.values()];
}
