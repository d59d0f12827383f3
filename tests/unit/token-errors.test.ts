// lib/oauth/token-errors.ts: the classification of SECURITY.md "Azure" #15, with Microsoft's table read
// from its catalogue entry. Errors are mapped from `error` and the provider's numeric codes, never from
// description text.
import { describe, expect, it } from "vitest";
import {
  TokenEndpointError,
  classifyErrorCodes,
  classifyHttpStatus,
  classifyOAuthError,
  readOAuthErrorCode,
} from "@/lib/oauth/token-errors";
import { createRedactor } from "@/lib/oauth/redact";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { ZProvider, type TErrorCodeTable } from "@/lib/providers/schema";

const MICROSOFT = PROVIDERS.get("microsoft-365-management")!.errorCodes;
/** a provider whose catalogue entry lists no codes */
const NONE: TErrorCodeTable = {};

describe("classifyOAuthError: Microsoft error_codes (SECURITY #15)", () => {
  it.each([70008, 700082, 70043, 54005])("AADSTS%i → needs_reconsent", (code) => {
    expect(classifyOAuthError(MICROSOFT, "invalid_grant", [code], 400)).toBe("needs_reconsent");
    // the code decides, whatever generic error accompanies it
    expect(classifyOAuthError(MICROSOFT, "invalid_request", [code], 400)).toBe("needs_reconsent");
  });

  it.each([65001, 90094, 700016, 500011])("AADSTS%i → consent_missing", (code) => {
    expect(classifyOAuthError(MICROSOFT, "invalid_grant", [code], 400)).toBe("consent_missing");
    expect(classifyOAuthError(MICROSOFT, "invalid_client", [code], 400)).toBe("consent_missing");
    expect(classifyOAuthError(MICROSOFT, "unauthorized_client", [code], 400)).toBe("consent_missing");
  });

  it.each([7000215, 7000222, 700027])(
    "AADSTS%i → app_misconfigured (operator alert, connections untouched)",
    (code) => {
      expect(classifyOAuthError(MICROSOFT, "invalid_client", [code], 401)).toBe("app_misconfigured");
      // not mistaken for a dead grant even when Azure says invalid_grant
      expect(classifyOAuthError(MICROSOFT, "invalid_grant", [code], 400)).toBe("app_misconfigured");
    },
  );

  it("AADSTS700024 → clock_skew", () => {
    expect(classifyOAuthError(MICROSOFT, "invalid_client", [700024], 400)).toBe("clock_skew");
    expect(classifyOAuthError(MICROSOFT, "invalid_grant", [700024], 400)).toBe("clock_skew");
  });

  it("AADSTS50196 (loop detected) → retryable, even with invalid_grant", () => {
    expect(classifyOAuthError(MICROSOFT, "invalid_grant", [50196], 400)).toBe("retryable");
    expect(classifyOAuthError(MICROSOFT, "invalid_request", [50196], 400)).toBe("retryable");
  });

  it("an unknown code falls back to error, then to retry", () => {
    expect(classifyOAuthError(MICROSOFT, "invalid_request", [12345], 400)).toBe("retryable");
    expect(classifyOAuthError(MICROSOFT, "invalid_grant", [50126], 400)).toBe("needs_reconsent");
    expect(classifyOAuthError(MICROSOFT, "invalid_client", [99999], 401)).toBe("app_misconfigured");
  });

  it("the first known code decides when several are sent", () => {
    expect(classifyOAuthError(MICROSOFT, "invalid_grant", [12345, 65001, 70008], 400)).toBe("consent_missing");
    expect(classifyOAuthError(MICROSOFT, "invalid_grant", [70008, 65001], 400)).toBe("needs_reconsent");
  });

  it("every code in the catalogue's table decides its own class", () => {
    const listed = Object.entries(MICROSOFT).flatMap(([cls, codes]) => codes.map((code) => [code, cls] as const));
    expect(listed.length).toBeGreaterThanOrEqual(20);
    for (const [code, cls] of listed) expect(classifyErrorCodes(MICROSOFT, [code]), String(code)).toBe(cls);
  });
});

describe("a provider's own code table", () => {
  it("without one, numeric codes are ignored: error and status decide", () => {
    expect(classifyErrorCodes(NONE, [70008, 65001, 7000215])).toBeNull();
    expect(classifyOAuthError(NONE, "invalid_grant", [65001], 400)).toBe("needs_reconsent");
    expect(classifyOAuthError(NONE, "invalid_request", [70008], 400)).toBe("retryable");
  });

  it("a table decides only for its own codes", () => {
    const table: TErrorCodeTable = { consent_missing: [42] };
    expect(classifyOAuthError(table, "invalid_grant", [42], 400)).toBe("consent_missing");
    expect(classifyOAuthError(table, "invalid_grant", [70008], 400)).toBe("needs_reconsent");
  });

  it("the schema refuses a code in two classes, an unknown class and a non-integer code", () => {
    const webex = PROVIDERS.get("webex")!;
    const parse = (errorCodes: unknown) => ZProvider.safeParse({ ...webex, errorCodes });
    expect(parse({ needs_reconsent: [1], retryable: [1] }).success).toBe(false);
    expect(parse({ dead_grant: [1] }).success).toBe(false);
    expect(parse({ retryable: [1.5] }).success).toBe(false);
    expect(parse({ retryable: [1], clock_skew: [2] }).success).toBe(true);
  });
});

describe("classifyOAuthError: HTTP status", () => {
  it.each([429, 500, 502, 503, 504])("HTTP %i → retryable, whatever the error", (status) => {
    expect(classifyOAuthError(NONE, "invalid_grant", [], status)).toBe("retryable");
    expect(classifyOAuthError(NONE, "invalid_client", [], status)).toBe("retryable");
    expect(classifyOAuthError(NONE, "consent_required", [], status)).toBe("retryable");
  });
});

describe("classifyOAuthError: RFC 6749 error values", () => {
  it.each([
    ["invalid_grant", "needs_reconsent"],
    ["consent_required", "consent_missing"],
    ["access_denied", "consent_missing"],
    ["interaction_required", "consent_missing"],
    ["invalid_client", "app_misconfigured"],
    ["unauthorized_client", "app_misconfigured"],
    ["unsupported_grant_type", "app_misconfigured"],
    ["invalid_scope", "app_misconfigured"],
    ["temporarily_unavailable", "retryable"],
    ["server_error", "retryable"],
    ["slow_down", "retryable"],
    // unknown values (Zoho's invalid_code, typos, anything new) are retried a bounded number of times, then alerted
    ["invalid_code", "retryable"],
    ["invalid_request", "retryable"],
    ["something_new", "retryable"],
  ] as const)("%s (HTTP 400) → %s", (error, cls) => {
    expect(classifyOAuthError(NONE, error, [], 400)).toBe(cls);
  });

  it("matches error values exactly (no prefix or case games)", () => {
    expect(classifyOAuthError(NONE, "INVALID_GRANT", [], 400)).toBe("retryable");
    expect(classifyOAuthError(NONE, "invalid_grant ", [], 400)).toBe("retryable");
    expect(classifyOAuthError(NONE, "invalid_grant_extra", [], 400)).toBe("retryable");
  });

  it("has no parameter for the description at all", () => {
    // classification cannot look at error_description: the function only takes the code table, error, codes and status
    expect(classifyOAuthError.length).toBe(4);
  });
});

describe("TokenEndpointError", () => {
  it("carries class, code and details, and is an Error", () => {
    const e = new TokenEndpointError("retryable", "http_503", "The provider answered HTTP 503.", {
      status: 503,
      retryAfterSeconds: 30,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("TokenEndpointError");
    expect(e.failureClass).toBe("retryable");
    expect(e.errorCode).toBe("http_503");
    expect(e.details).toEqual({ status: 503, retryAfterSeconds: 30 });
    expect(new TokenEndpointError("invalid_response", "x", "m").details).toEqual({});
  });
});

describe("readOAuthErrorCode: only plain codes are kept (SECURITY #44)", () => {
  const CODES = [
    "invalid_grant",
    "temporarily_unavailable",
    "unauthorized_client",
    "urn:ietf:params:oauth:error:x",
    "AADSTS70008",
    "v1.error-code",
    "a".repeat(64),
  ];
  it.each(CODES)("keeps %s", (code) => {
    expect(readOAuthErrorCode(code)).toBe(code);
  });

  it.each([
    ["an echoed form body", "grant_type=refresh_token&refresh_token=abc"],
    ["a space", "Access Denied"],
    ["a line break", "invalid_grant\n"],
    ["65 characters", "a".repeat(65)],
    ["empty", ""],
    ["a JWT", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"],
    ["a token-shaped run", "Q1xg7Kd0aZmP3vRt8sWq2NcYbE5uHiJo"],
    ["not a string", 42],
  ])("refuses %s", (_, value) => {
    expect(readOAuthErrorCode(value)).toBeNull();
  });

  it("refuses a code that holds one of the request's secrets", () => {
    expect(readOAuthErrorCode("secret-value_1", createRedactor(["secret-value_1"]))).toBeNull();
    expect(readOAuthErrorCode("invalid_grant", createRedactor(["secret-value_1"]))).toBe("invalid_grant");
  });
});

describe("classification without a readable error", () => {
  it("error_codes alone: the known ones decide, unknown ones do not", () => {
    expect(classifyErrorCodes(MICROSOFT, [12345, 70008])).toBe("needs_reconsent");
    expect(classifyErrorCodes(MICROSOFT, [12345])).toBeNull();
    expect(classifyErrorCodes(MICROSOFT, [])).toBeNull();
  });

  it.each([
    [408, "retryable"],
    [429, "retryable"],
    [500, "retryable"],
    [503, "retryable"],
    [200, "invalid_response"],
    [400, "invalid_response"],
    [401, "invalid_response"],
  ] as const)("HTTP %i alone → %s", (status, cls) => {
    expect(classifyHttpStatus(status)).toBe(cls);
  });
});
