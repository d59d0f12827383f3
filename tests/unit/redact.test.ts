// lib/oauth/redact.ts: a provider echoing the request (SECURITY.md #44). Every secret the request
// carried is found in each spelling it can come back in, and as a truncated run; token- and JWT-shaped
// text goes too, while UUIDs, codes, host names, paths and ordinary words stay readable.
import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { REDACTED, createRedactor, redactTokenShapes } from "@/lib/oauth/redact";

const AWKWARD = "s3cr3t~a:b%c+d e&f=g秘密/?#;'\"!*()\\<x>";
const REFRESH = `0.AXoA${crypto.randomBytes(48).toString("base64url")}`;
const JWT =
  "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const UUID = "41463f53-8812-40f4-890f-865bf6e35190";
const asciiJson = (s: string) =>
  JSON.stringify(s)
    .slice(1, -1)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

describe("createRedactor: the secrets a request carried", () => {
  const redact = createRedactor([AWKWARD, REFRESH]);

  it.each([
    ["raw", AWKWARD],
    ["encodeURIComponent", encodeURIComponent(AWKWARD)],
    [
      "encodeURIComponent, lower-case hex",
      encodeURIComponent(AWKWARD).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    ],
    ["application/x-www-form-urlencoded", new URLSearchParams({ v: AWKWARD }).toString().slice(2)],
    ["Basic's form encoding (+ for space)", encodeURIComponent(AWKWARD).replace(/%20/g, "+")],
    ["JSON-escaped", JSON.stringify(AWKWARD).slice(1, -1)],
    ["JSON-escaped, ASCII only", asciiJson(AWKWARD)],
    [
      "HTML-escaped",
      AWKWARD.replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;")
        .replace(/'/g, "&#39;"),
    ],
  ])("a client secret echoed %s", (_, spelled) => {
    const out = redact(`invalid_client: the secret ${spelled} is wrong`);
    expect(out).toBe(`invalid_client: the secret ${REDACTED} is wrong`);
  });

  it("a whole form body: refresh token and secret go, the parameter names and the rest stay", () => {
    const body = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: REFRESH,
      client_id: "my-client",
      client_secret: AWKWARD,
    }).toString();
    const head = "POST /common/oauth2/token\ncontent-type: application/x-www-form-urlencoded\n\n";
    expect(redact(`${head}${body}`)).toBe(
      `${head}grant_type=refresh_token&refresh_token=${REDACTED}&client_id=my-client&client_secret=${REDACTED}`,
    );
  });

  it("a truncated echo: a prefix, a suffix or a middle run of 12 characters or more", () => {
    expect(redact(`token=${REFRESH.slice(0, 12)}…`)).toBe(`token=${REDACTED}…`);
    expect(redact(`…${REFRESH.slice(-12)} expired`)).toBe(`…${REDACTED} expired`);
    expect(redact(`x${REFRESH.slice(20, 45)}y`)).toBe(`x${REDACTED}y`);
    // shorter runs are ordinary text
    expect(redact(`tail ${REFRESH.slice(-11)}`)).toBe(`tail ${REFRESH.slice(-11)}`);
  });

  it("the Basic credentials as sent (base64 of the form-encoded id:secret)", () => {
    const basic = Buffer.from(`client:${encodeURIComponent(AWKWARD)}`).toString("base64");
    const r = createRedactor([basic, AWKWARD], { tokenShapes: false });
    expect(r(`authorization: Basic ${basic}`)).toBe(`authorization: Basic ${REDACTED}`);
    expect(r(`Basic ${basic.slice(0, 16)}`)).toBe(`Basic ${REDACTED}`);
  });

  it("every occurrence, adjacent ones as one marker", () => {
    expect(redact(`${REFRESH} and ${REFRESH}${encodeURIComponent(AWKWARD)}`)).toBe(`${REDACTED} and ${REDACTED}`);
  });

  it("short secrets are matched whole; values under four characters and empty ones are ignored", () => {
    const r = createRedactor(["hunter2", "abc", "", null, undefined], { tokenShapes: false });
    expect(r("password hunter2 rejected, abc")).toBe(`password ${REDACTED} rejected, abc`);
  });

  it("leaves text without secrets as it was (same string)", () => {
    const text = "AADSTS70008: The provided authorization code or refresh token has expired. Trace ID: " + UUID;
    expect(redact(text)).toBe(text);
    expect(createRedactor([])("")).toBe("");
  });

  it("tokenShapes: false keeps an API's own token-shaped ids", () => {
    const webexId = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS8xMjM0NTY3OC05MGFiLWNkZWYtMTIzNC01Njc4OTBhYmNkZWY";
    expect(createRedactor([REFRESH], { tokenShapes: false })(`id ${webexId}`)).toBe(`id ${webexId}`);
    expect(createRedactor([REFRESH])(`id ${webexId}`)).toBe(`id ${REDACTED}`);
  });

  // (its speed is not asserted here: timings belong in benchmarks, and a busy CI machine made this flaky)
  it("redacts a kilobyte secret at the end of a 64 KiB answer, and only it", () => {
    const long = crypto.randomBytes(1500).toString("base64url");
    const big = createRedactor([long, JWT, AWKWARD]);
    const filler = "lorem ipsum dolor sit amet ".repeat(2400).slice(0, 64 * 1024 - long.length);
    const out = big(`${filler}${long}`);
    expect(out).toBe(`${filler}${REDACTED}`);
    expect(out).not.toContain(long.slice(0, 40));
  });
});

describe("redactTokenShapes", () => {
  it.each([
    ["a JWT", `Bearer ${JWT}`, `Bearer ${REDACTED}`],
    ["an unsigned JWT", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", REDACTED],
    [
      "a base64url token (with the parameter name glued to it)",
      "access_token=Q1xg7Kd_0aZ-mP3vRt8sWq2NcYbE5uHiJo",
      REDACTED,
    ],
    ["a base64 token with / and +", "key: AbC9+/dEf0GhIjKlMnOpQrStUvWxYz12==", `key: ${REDACTED}`],
    ["an Azure client secret", "abc8Q~Xy9zAbCdEfGhIjKlMnOpQrStUvWxYz0123", REDACTED],
    [
      "a Zoho token (hex runs)",
      "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210",
      `1000.${REDACTED}.${REDACTED}`,
    ],
  ])("removes %s", (_, text, expected) => {
    expect(redactTokenShapes(text)).toBe(expected);
  });

  it.each([
    ["a UUID (trace and correlation ids)", `Trace ID: ${UUID} Correlation ID: ${UUID.toUpperCase()}`],
    ["a UUID glued to a prefix", `trackingId ROUTER_${UUID.toUpperCase()}`],
    [
      "OAuth error codes and AADSTS numbers",
      "invalid_grant temporarily_unavailable unauthorized_client AADSTS7000215 AADSTS700082",
    ],
    [
      "host names, URLs and paths",
      "https://login.microsoftonline.com/common/oauth2/v2.0/token /api/v1/connections/conn_1/token",
    ],
    ["a cuid", "connection cmi8x7q2h0000u4l8c9b0d2e1 failed"],
    [
      "words and snake_case",
      "refresh_token_expires_in client_credentials urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    ],
    ["long runs of one letter", `/api/v1/connections/${"a".repeat(700)}`],
    ["a timestamp", "Timestamp: 2024-05-01 10:00:00Z"],
  ])("keeps %s", (_, text) => {
    expect(redactTokenShapes(text)).toBe(text);
  });

  it("a token with a UUID inside loses the random part only", () => {
    const webexToken = `${"ZjM5NDQ4YzMtNzk1Yi00NjE0LWJhNjktYjM2ZmQ0ZTI1Mjg0"}_PF84_${UUID}`;
    expect(redactTokenShapes(webexToken)).toBe(`${REDACTED}${UUID}`);
  });
});
