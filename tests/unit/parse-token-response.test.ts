// lib/oauth/parse-token-response.ts with the real catalogue entries (SECURITY.md "Malformed responses"
// #24-25, "Azure" #15, and the seed-000 Azure AD v1 shapes). Nothing here is mocked: the provider
// entries are the ones the app uses, and every refusal must be a classified TokenEndpointError.
import { describe, expect, it } from "vitest";
import { parseTokenResponse, type TokenSetData } from "@/lib/oauth/parse-token-response";
import { TokenEndpointError } from "@/lib/oauth/token-errors";
import { createRedactor } from "@/lib/oauth/redact";
import { PROVIDERS } from "@/lib/providers/catalogue";
import type { TProvider } from "@/lib/providers/schema";

function provider(id: string): TProvider {
  const p = PROVIDERS.get(id);
  if (!p) throw new Error(`no catalogue entry ${id}`);
  return p;
}
const AZURE = provider("microsoft-365-management");
const WEBEX = provider("webex");
const ZOHO = provider("zoho-inventory");
const GENERIC = provider("generic-oauth2");

const DAY = 24 * 3600;
// Seed 000, code exchange response (Azure AD v1: every number is a string).
const SEED_EXPIRES_ON = 1438290275;
const SEED_V1 = {
  expires_in: "3599",
  token_type: "Bearer",
  scope: "ActivityFeed.Read ActivityReports.Read ServiceHealth.Read",
  expires_on: String(SEED_EXPIRES_ON),
  not_before: "1438286375",
  resource: "https://manage.office.com",
  access_token: "eyJ0eX...",
  refresh_token: "AAABAAA...",
  id_token: "eyJ0eXAi...",
};
// Seed 000, client-credentials response.
const SEED_V1_APP_ONLY = {
  token_type: "Bearer",
  expires_in: "3599",
  expires_on: "1431659094",
  not_before: "1431655194",
  resource: "https://manage.office.com",
  access_token: "eyJ0eXAiOiJKV1QiL...",
};

/** A requestedAt that is NOT consistent with expires_on, so a test can tell which field was used. */
const AT = new Date("2024-05-01T10:00:00.000Z");

function parse(
  p: TProvider,
  body: unknown,
  opts: { status?: number; headers?: Record<string, string>; requestedAt?: Date; raw?: boolean } = {},
): TokenSetData {
  return parseTokenResponse({
    provider: p,
    status: opts.status ?? 200,
    headers: opts.headers ? new Headers(opts.headers) : undefined,
    text: opts.raw ? (body as string) : JSON.stringify(body),
    requestedAt: opts.requestedAt ?? AT,
  });
}

function refusal(run: () => unknown): TokenEndpointError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(TokenEndpointError);
    return e as TokenEndpointError;
  }
  throw new Error("expected a TokenEndpointError, but the response was accepted");
}

const lifetimeOf = (d: TokenSetData, at = AT) => (d.expiresAt.getTime() - at.getTime()) / 1000;

describe("Azure AD v1 (seed 000)", () => {
  it("accepts the code-exchange response with string numbers; expiry = requestedAt + expires_in", () => {
    const requestedAt = new Date((SEED_EXPIRES_ON - 3599) * 1000);
    const d = parse(AZURE, SEED_V1, { requestedAt });
    expect(d.accessToken).toBe("eyJ0eX...");
    expect(d.refreshToken).toBe("AAABAAA...");
    expect(d.idToken).toBe("eyJ0eXAi...");
    expect(d.tokenType).toBe("Bearer");
    expect(d.expiresAt.getTime()).toBe(requestedAt.getTime() + 3599_000);
    expect(d.scopes).toEqual(["ActivityFeed.Read", "ActivityReports.Read", "ServiceHealth.Read"]);
    expect(d.metadata).toEqual({});
  });

  it("counts expires_in from requestedAt, not from expires_on, when both are present", () => {
    // expires_on would say 2024 + far less; expires_in is the relative, clock-independent value
    const d = parse(AZURE, SEED_V1, { requestedAt: AT });
    expect(lifetimeOf(d)).toBe(3599);
  });

  it("accepts the app-only (client credentials) response without a refresh token", () => {
    const d = parse(AZURE, SEED_V1_APP_ONLY);
    expect(d.accessToken).toBe("eyJ0eXAiOiJKV1QiL...");
    expect(lifetimeOf(d)).toBe(3599);
    expect(d.refreshToken).toBeNull();
    expect(d.refreshTokenExpiresAt).toBeNull();
    expect(d.idToken).toBeNull();
    expect(d.scopes).toBeNull();
  });

  it("derives the lifetime from expires_on alone (an absolute epoch, string or number)", () => {
    const requestedAt = new Date((SEED_EXPIRES_ON - 3000) * 1000);
    const { expires_in: _drop, ...onlyOn } = SEED_V1;
    expect(parse(AZURE, onlyOn, { requestedAt }).expiresAt.getTime()).toBe(SEED_EXPIRES_ON * 1000);
    expect(parse(AZURE, { ...onlyOn, expires_on: SEED_EXPIRES_ON }, { requestedAt }).expiresAt.getTime()).toBe(
      SEED_EXPIRES_ON * 1000,
    );
  });

  it("clamps an expires_on more than 24 h away to 24 h", () => {
    const requestedAt = new Date((SEED_EXPIRES_ON - 30 * DAY) * 1000);
    const { expires_in: _drop, ...onlyOn } = SEED_V1;
    expect(lifetimeOf(parse(AZURE, onlyOn, { requestedAt }), requestedAt)).toBe(DAY);
  });

  it("never turns an expires_on in the past into a future expiry", () => {
    const requestedAt = new Date((SEED_EXPIRES_ON + 600) * 1000);
    const { expires_in: _drop, ...onlyOn } = SEED_V1;
    expect(parse(AZURE, onlyOn, { requestedAt }).expiresAt.getTime()).toBeLessThanOrEqual(requestedAt.getTime());
  });

  it("refuses a garbage expires_on when expires_in is absent", () => {
    const { expires_in: _drop, ...onlyOn } = SEED_V1;
    for (const bad of ["abc", "-1", "0", -5]) {
      const e = refusal(() => parse(AZURE, { ...onlyOn, expires_on: bad }));
      expect(e.failureClass).toBe("invalid_response");
    }
  });
});

describe("expires_in", () => {
  it.each([
    ["microsoft-365-management", 3599],
    ["generic-oauth2", 3600],
    ["zoho-inventory", 3600],
    // Webex documents 14 days; a missing value is assumed conservatively: at most one day.
    ["webex", 14 * DAY, DAY],
  ])(
    "%s: missing → the provider's default lifetime (%i s, capped at a day), never 'no expiry'",
    (id, seconds, expected = seconds) => {
      const p = provider(id);
      expect(p.expiry.defaultLifetimeSeconds).toBe(seconds);
      const d = parse(p, { access_token: "at", token_type: "Bearer" });
      expect(d.expiresAt).toBeInstanceOf(Date);
      expect(Number.isFinite(d.expiresAt.getTime())).toBe(true);
      expect(lifetimeOf(d)).toBe(expected);
    },
  );

  it("null counts as missing", () => {
    expect(lifetimeOf(parse(GENERIC, { access_token: "at", token_type: "Bearer", expires_in: null }))).toBe(3600);
  });

  it.each([3599, "3599", " 3599 ", 60, "1"])("accepts %j", (v) => {
    const d = parse(GENERIC, { access_token: "at", token_type: "Bearer", expires_in: v });
    expect(lifetimeOf(d)).toBe(Number(String(v).trim()));
  });

  it("floors a fractional lifetime", () => {
    expect(lifetimeOf(parse(GENERIC, { access_token: "at", token_type: "Bearer", expires_in: 3599.9 }))).toBe(3599);
  });

  it.each([["abc"], ["-5"], [-5], [0], ["0"], ["3599abc"], ["1e3"], ["0x10"], [true], [[3600]], [{ seconds: 3600 }]])(
    "refuses %j as invalid_response",
    (v) => {
      for (const p of [GENERIC, AZURE, WEBEX, ZOHO]) {
        const e = refusal(() => parse(p, { access_token: "at", token_type: "Bearer", expires_in: v }));
        expect(e.failureClass).toBe("invalid_response");
        expect(e.errorCode).toBe("invalid_response");
      }
    },
  );

  it.each([3600000, "3600000", DAY + 1, 10 ** 12])("clamps %j to 24 h", (v) => {
    expect(lifetimeOf(parse(GENERIC, { access_token: "at", token_type: "Bearer", expires_in: v }))).toBe(DAY);
  });

  it("keeps exactly 24 h", () => {
    expect(lifetimeOf(parse(GENERIC, { access_token: "at", token_type: "Bearer", expires_in: DAY }))).toBe(DAY);
  });
});

describe("bodies that are not token responses", () => {
  const html =
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body>secret-internal-page access_token</body></html>";

  it("refuses HTML with HTTP 200, and the message does not repeat the body", () => {
    const e = refusal(() => parse(GENERIC, html, { raw: true }));
    expect(e.failureClass).toBe("invalid_response");
    expect(e.errorCode).toBe("invalid_response");
    expect(e.message).not.toContain("secret-internal-page");
    expect(e.message).not.toContain("<");
  });

  it.each([
    ["form-encoded", "access_token=abc&token_type=bearer&expires_in=3600"],
    ["empty", ""],
    ["truncated JSON", '{"access_token":"abc","token_type":"Bearer"'],
    ["JSON array", '[{"access_token":"abc","token_type":"Bearer"}]'],
    ["JSON null", "null"],
    ["JSON string", '"abc"'],
    ["JSON number", "42"],
  ])("refuses a %s body", (_name, text) => {
    const e = refusal(() => parse(GENERIC, text, { raw: true }));
    expect(e.failureClass).toBe("invalid_response");
  });

  it("refuses a 200 carrying error (Zoho's invalid_code), mapped by the catalogue to invalid_grant → needs consent", () => {
    const e = refusal(() => parse(ZOHO, { error: "invalid_code" }));
    expect(e.errorCode).toBe("invalid_grant");
    expect(e.failureClass).toBe("needs_reconsent");
    expect(e.details.status).toBe(200);
  });

  it("refuses a 200 carrying error even next to an access_token", () => {
    const e = refusal(() => parse(ZOHO, { error: "invalid_client", access_token: "at", token_type: "Bearer" }));
    expect(e.errorCode).toBe("invalid_client");
  });

  it.each([
    ["no access_token", { token_type: "Bearer", expires_in: 3600 }],
    ["empty access_token", { access_token: "", token_type: "Bearer" }],
    ["numeric access_token", { access_token: 12345, token_type: "Bearer" }],
    ["oversized access_token", { access_token: "a".repeat(16385), token_type: "Bearer" }],
    ["no token_type", { access_token: "at", expires_in: 3600 }],
    ["token_type mac", { access_token: "at", token_type: "mac" }],
    ["token_type DPoP", { access_token: "at", token_type: "DPoP" }],
    ["empty token_type", { access_token: "at", token_type: "" }],
    ["numeric token_type", { access_token: "at", token_type: 1 }],
  ])("refuses %s", (_name, body) => {
    for (const p of [GENERIC, AZURE, WEBEX, ZOHO]) {
      const e = refusal(() => parse(p, body));
      expect(e.failureClass).toBe("invalid_response");
    }
  });

  it("accepts token_type in any case (RFC 6749 §5.1) and normalises it", () => {
    expect(parse(GENERIC, { access_token: "at", token_type: "bearer" }).tokenType).toBe("Bearer");
    expect(parse(GENERIC, { access_token: "at", token_type: "BEARER" }).tokenType).toBe("Bearer");
  });
});

describe("refresh tokens", () => {
  const WEBEX_BODY = {
    access_token: "ZDI3MGEyYzQtNmFlNS00NDNhLWFlNzAtZGVjNjE0MGU1OGZmZWNmZDEwN2ItYTU3",
    expires_in: 1209599,
    refresh_token: "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTEyMzQ1Njc4",
    refresh_token_expires_in: 7775999,
    token_type: "Bearer",
  };

  it("Webex: refresh_token_expires_in → refreshTokenExpiresAt (not clamped like access tokens)", () => {
    const d = parse(WEBEX, WEBEX_BODY);
    expect(d.refreshToken).toBe(WEBEX_BODY.refresh_token);
    expect(d.refreshTokenExpiresAt?.getTime()).toBe(AT.getTime() + 7775999_000);
    // the access token's 14 days are clamped to the 24 h maximum
    expect(lifetimeOf(d)).toBe(DAY);
  });

  it("Webex: a string refresh_token_expires_in works too", () => {
    const d = parse(WEBEX, { ...WEBEX_BODY, refresh_token_expires_in: "600" });
    expect(d.refreshTokenExpiresAt?.getTime()).toBe(AT.getTime() + 600_000);
  });

  it("Webex: without refresh_token_expires_in the catalogue's known lifetime (90 days) applies", () => {
    const { refresh_token_expires_in: _drop, ...body } = WEBEX_BODY;
    expect(WEBEX.expiry.refreshTokenLifetimeSeconds).toBe(90 * DAY);
    expect(parse(WEBEX, body).refreshTokenExpiresAt?.getTime()).toBe(AT.getTime() + 90 * DAY * 1000);
  });

  it.each(["abc", "12x", {}])("Webex: refuses a garbage refresh_token_expires_in %j", (v) => {
    expect(refusal(() => parse(WEBEX, { ...WEBEX_BODY, refresh_token_expires_in: v })).failureClass).toBe(
      "invalid_response",
    );
  });

  it.each(["-1", "0", 0, -7])(
    "Webex: a non-positive refresh_token_expires_in %j is read as unsaid: the valid access token is kept, the known 90 days apply",
    (v) => {
      const d = parse(WEBEX, { ...WEBEX_BODY, refresh_token_expires_in: v });
      expect(d.accessToken).toBe(WEBEX_BODY.access_token);
      expect(d.refreshTokenExpiresAt?.getTime()).toBe(AT.getTime() + 90 * DAY * 1000);
    },
  );

  it("no refresh_token → refreshToken null and refreshTokenExpiresAt null (even if a lifetime is sent)", () => {
    const { refresh_token: _drop, ...body } = WEBEX_BODY;
    const d = parse(WEBEX, body);
    expect(d.refreshToken).toBeNull();
    expect(d.refreshTokenExpiresAt).toBeNull();
    const e = parse(WEBEX, { ...body, refresh_token: "" });
    expect(e.refreshToken).toBeNull();
    expect(e.refreshTokenExpiresAt).toBeNull();
  });

  it("a provider that states no refresh-token lifetime → refreshTokenExpiresAt null", () => {
    const d = parse(GENERIC, { access_token: "at", token_type: "Bearer", refresh_token: "rt" });
    expect(d.refreshToken).toBe("rt");
    expect(d.refreshTokenExpiresAt).toBeNull();
  });
});

describe("Zoho api_domain (token-response metadata)", () => {
  const ZOHO_BODY = {
    access_token: "1000.41d9f2cfbd1b7a8f9e314b7aff7bc2d1.8fcc9810810a216793f385b9dd6e125f",
    refresh_token: "1000.5d2d1b8e2c1a.3b2c",
    api_domain: "https://www.zohoapis.eu",
    token_type: "Bearer",
    expires_in: 3600,
  };

  it("keeps an allowed api_domain in metadata", () => {
    const d = parse(ZOHO, ZOHO_BODY);
    expect(d.metadata).toEqual({ api_domain: "https://www.zohoapis.eu" });
    expect(lifetimeOf(d)).toBe(3600);
  });

  it.each(["com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa", "uk"])("accepts the %s data centre", (dc) => {
    expect(parse(ZOHO, { ...ZOHO_BODY, api_domain: `https://www.zohoapis.${dc}` }).metadata.api_domain).toBe(
      `https://www.zohoapis.${dc}`,
    );
  });

  it.each([
    "https://www.zohoapis.com.evil.example",
    "https://www.zohoapis.eu.evil.example",
    "https://evil.example",
    "http://www.zohoapis.com",
    "https://www.zohoapis.com/",
    "https://www.zohoapis.com:8443",
    "https://user@www.zohoapis.com",
    "https://www.zohoapis.com\n",
    "https://www.zohoapisXcom",
    "https://www.zohoapis.de",
    "",
    42,
    null,
  ])("refuses api_domain %j, so nothing is stored", (v) => {
    const e = refusal(() => parse(ZOHO, { ...ZOHO_BODY, api_domain: v }));
    expect(e.failureClass).toBe("invalid_response");
  });

  it("an absent api_domain leaves metadata empty", () => {
    const { api_domain: _drop, ...body } = ZOHO_BODY;
    expect(parse(ZOHO, body).metadata).toEqual({});
  });

  it("other providers keep no metadata, whatever the response carries", () => {
    const d = parse(GENERIC, {
      access_token: "at",
      token_type: "Bearer",
      api_domain: "https://www.zohoapis.com.evil.example",
      resource: "x",
    });
    expect(d.metadata).toEqual({});
  });

  it("splits Zoho's comma-separated scope", () => {
    expect(
      parse(ZOHO, { ...ZOHO_BODY, scope: "ZohoInventory.FullAccess.all,ZohoInventory.settings.READ" }).scopes,
    ).toEqual(["ZohoInventory.FullAccess.all", "ZohoInventory.settings.READ"]);
  });
});

describe("error responses (classified from error and error_codes)", () => {
  const azureError = (error: string, codes: number[] | undefined, description: string) => ({
    error,
    error_description: description,
    ...(codes ? { error_codes: codes } : {}),
    timestamp: "2024-05-01 10:00:00Z",
    trace_id: "8d7a0f5b-1c1e-4b5a-9f1e-1f2b3c4d5e6f",
    correlation_id: "0b5f3d6c-2a1b-4c3d-8e9f-0a1b2c3d4e5f",
  });

  it.each([
    [[70008], "invalid_grant", 400, "needs_reconsent"],
    [[700082], "invalid_grant", 400, "needs_reconsent"],
    [[65001], "invalid_grant", 400, "consent_missing"],
    [[7000215], "invalid_client", 401, "app_misconfigured"],
    [[700024], "invalid_client", 400, "clock_skew"],
    [[50196], "invalid_request", 400, "retryable"],
  ] as const)("error_codes %j (%s, HTTP %i) → %s", (codes, error, status, cls) => {
    const e = refusal(() =>
      parse(AZURE, azureError(error, [...codes], `AADSTS${codes[0]}: something happened.`), { status }),
    );
    expect(e.failureClass).toBe(cls);
    expect(e.errorCode).toBe(error);
    expect(e.details.status).toBe(status);
    expect(e.details.errorCodes).toEqual([...codes]);
  });

  it("keeps the description only in details, never in the message", () => {
    const e = refusal(() =>
      parse(
        AZURE,
        azureError("invalid_grant", [70008], "AADSTS70008: The refresh token has expired. Trace: canary-7f3a"),
        { status: 400 },
      ),
    );
    expect(e.details.description).toContain("canary-7f3a");
    expect(e.message).not.toContain("canary-7f3a");
  });

  it("never classifies from the description: AADSTS70008 in the text of a server_error is retryable", () => {
    const e = refusal(() =>
      parse(
        AZURE,
        azureError(
          "server_error",
          undefined,
          "AADSTS70008: The provided authorization code or refresh token has expired.",
        ),
        { status: 400 },
      ),
    );
    expect(e.failureClass).toBe("retryable");
    expect(e.details.errorCodes).toEqual([]);
  });

  it("never classifies from the description: consent words in an unknown error stay retryable", () => {
    const e = refusal(() =>
      parse(
        AZURE,
        azureError("invalid_request", undefined, "AADSTS65001: consent_required invalid_grant invalid_client"),
        { status: 400 },
      ),
    );
    expect(e.failureClass).toBe("retryable");
  });

  it("error_codes win over error (65001 with invalid_grant is consent_missing, not needs_reconsent)", () => {
    expect(refusal(() => parse(AZURE, azureError("invalid_grant", [65001], "x"), { status: 400 })).failureClass).toBe(
      "consent_missing",
    );
  });

  it("429 with Retry-After: 30 → retryable, retryAfterSeconds 30 (JSON error body)", () => {
    const e = refusal(() =>
      parse(AZURE, azureError("temporarily_unavailable", [50196], "slow down"), {
        status: 429,
        headers: { "retry-after": "30" },
      }),
    );
    expect(e.failureClass).toBe("retryable");
    expect(e.details.retryAfterSeconds).toBe(30);
    expect(e.details.status).toBe(429);
  });

  it("429 with Retry-After: 30 and a plain-text body → retryable, retryAfterSeconds 30", () => {
    const e = refusal(() =>
      parse(GENERIC, "Too Many Requests", {
        raw: true,
        status: 429,
        headers: { "Retry-After": "30", "content-type": "text/plain" },
      }),
    );
    expect(e.failureClass).toBe("retryable");
    expect(e.errorCode).toBe("http_429");
    expect(e.details.retryAfterSeconds).toBe(30);
  });

  it("an HTTP-date Retry-After becomes seconds from now; absurd values are capped at an hour", () => {
    const when = new Date(Date.now() + 60_000).toUTCString();
    const e = refusal(() => parse(GENERIC, "busy", { raw: true, status: 503, headers: { "retry-after": when } }));
    expect(e.details.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(e.details.retryAfterSeconds).toBeLessThanOrEqual(60);
    const capped = refusal(() =>
      parse(GENERIC, "busy", { raw: true, status: 503, headers: { "retry-after": "999999" } }),
    );
    expect(capped.details.retryAfterSeconds).toBe(3600);
  });

  it("503 text/html → retryable, and the page is not repeated", () => {
    const e = refusal(() =>
      parse(AZURE, "<html><body>Service Unavailable canary-503</body></html>", {
        raw: true,
        status: 503,
        headers: { "content-type": "text/html" },
      }),
    );
    expect(e.failureClass).toBe("retryable");
    expect(e.errorCode).toBe("http_503");
    expect(e.message).not.toContain("canary-503");
  });

  it.each([500, 502, 504, 408])("HTTP %i without a JSON error → retryable", (status) => {
    expect(refusal(() => parse(GENERIC, "oops", { raw: true, status })).failureClass).toBe("retryable");
  });

  it.each([400, 401, 404])("HTTP %i without a JSON error → invalid_response", (status) => {
    expect(refusal(() => parse(GENERIC, "<html>nope</html>", { raw: true, status })).failureClass).toBe(
      "invalid_response",
    );
  });

  it("a non-2xx with a token-looking JSON body is still refused", () => {
    const e = refusal(() => parse(GENERIC, { access_token: "at", token_type: "Bearer" }, { status: 500 }));
    expect(e.failureClass).toBe("retryable");
    expect(e.details.status).toBe(500);
  });

  it.each([
    ["invalid_grant", "needs_reconsent"],
    ["consent_required", "consent_missing"],
    ["invalid_client", "app_misconfigured"],
  ])("a generic provider's %s (HTTP 400) → %s", (error, cls) => {
    const e = refusal(() => parse(GENERIC, { error, error_description: "whatever" }, { status: 400 }));
    expect(e.failureClass).toBe(cls);
    expect(e.errorCode).toBe(error);
  });
});

describe("an error that is not a code (SECURITY.md #44)", () => {
  const ECHO =
    "POST /token\ncontent-type: application/x-www-form-urlencoded\n\ngrant_type=refresh_token&refresh_token=0.AXoAq8&client_secret=x";
  const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl";

  it.each([
    ["an echoed request", ECHO],
    ["a space (Zoho-like, without an alias)", "Access Denied"],
    ["a form fragment", "refresh_token=abc"],
    ["65 characters", "a".repeat(65)],
    ["a JWT", JWT],
    ["a token-shaped run", "Q1xg7Kd0aZmP3vRt8sWq2NcYbE5uHiJo"],
    ["a line break", "invalid_grant\nrefresh_token"],
    ["an overlong echo (more than 200 characters)", `${ECHO}${"&x=y".repeat(100)}`],
  ])("%s → invalid_response, classified by the status (400: invalid_response)", (_, error) => {
    const e = refusal(() => parse(GENERIC, { error, error_description: "d" }, { status: 400 }));
    expect(e).toMatchObject({ errorCode: "invalid_response", failureClass: "invalid_response" });
    expect(e.message).toBe("The provider refused the request with an unreadable error code.");
    expect(e.message).not.toContain(error);
  });

  it.each([
    [429, "retryable"],
    [500, "retryable"],
    [503, "retryable"],
    [401, "invalid_response"],
    [200, "invalid_response"],
  ] as const)("HTTP %i with an echoed error → %s", (status, cls) => {
    const e = refusal(() => parse(GENERIC, { error: ECHO, access_token: "at", token_type: "Bearer" }, { status }));
    expect(e).toMatchObject({ errorCode: "invalid_response", failureClass: cls });
  });

  it("Microsoft's error_codes still decide beside an unreadable error, and are named in the message", () => {
    const e = refusal(() => parse(AZURE, { error: ECHO, error_codes: [70008] }, { status: 400 }));
    expect(e).toMatchObject({ errorCode: "invalid_response", failureClass: "needs_reconsent" });
    expect(e.message).toBe("The provider refused the request with an unreadable error code (AADSTS70008).");
  });

  /** parseTokenResponse with a redactor of the request's secrets, as requestToken calls it */
  const parseWith = (secret: string, body: unknown, status: number) =>
    parseTokenResponse({
      provider: GENERIC,
      status,
      text: JSON.stringify(body),
      requestedAt: AT,
      redact: createRedactor([secret]),
    });

  it("a code that holds one of the request's secrets is not a code", () => {
    expect(refusal(() => parseWith("my-refresh-token-value", { error: "my-refresh-token-value" }, 400)).errorCode).toBe(
      "invalid_response",
    );
  });

  it("the description is scrubbed of the request's secrets and of token shapes before it is cut to 500", () => {
    const secret = "s3cr3t-value-0123456789";
    // cut first, the first 9 characters of the secret would stay: too short to be told from text
    const description = `${"x".repeat(490)} ${secret} ${JWT}`;
    const e = refusal(() => parseWith(secret, { error: "invalid_request", error_description: description }, 400));
    expect(e.details.description).toBe(`${"x".repeat(490)} [redacted`);
  });

  it("a HubSpot status that is no code (echoed into status and message) → invalid_response, message scrubbed", () => {
    const e = refusal(() => parse(provider("hubspot"), { status: ECHO, message: `bad ${JWT}` }, { status: 400 }));
    expect(e).toMatchObject({ errorCode: "invalid_response", details: { description: "bad [redacted]" } });
  });

  it("a non-string description does not turn an error into a success", () => {
    const e = refusal(() =>
      parse(GENERIC, {
        error: "invalid_grant",
        error_description: { nested: true },
        access_token: "at",
        token_type: "Bearer",
      }),
    );
    expect(e).toMatchObject({
      errorCode: "invalid_grant",
      failureClass: "needs_reconsent",
      details: { description: undefined },
    });
  });

  it("an error named like an Object.prototype member is not an alias lookup", () => {
    const e = refusal(() => parse(ZOHO, { error: "constructor", access_token: "at", token_type: "Bearer" }));
    expect(e.errorCode).toBe("constructor");
  });

  it('Zoho\'s rate limit ("Access Denied", HTTP 400) keeps its meaning through the catalogue alias: retry later', () => {
    const body = {
      error: "Access Denied",
      error_description: "You have made too many requests continuously.",
      status: "failure",
    };
    const e = refusal(() => parse(ZOHO, body, { status: 400 }));
    expect(e).toMatchObject({ errorCode: "slow_down", failureClass: "retryable" });
  });

  it("scope is scrubbed of the request's secrets before it is kept", () => {
    const d = parseWith(
      "my-refresh-token-value",
      { access_token: "at", token_type: "Bearer", scope: "openid my-refresh-token-value" },
      200,
    );
    expect(d.scopes).toEqual(["openid", "[redacted]"]);
  });
});
