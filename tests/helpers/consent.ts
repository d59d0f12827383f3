// Shared steps of the consent-flow integration tests (tests/integration/consent-*.test.ts): create a
// connection, start the flow, play the browser at an emulator, hand the redirect to the callback
// logic, and read back what was stored. Everything goes through lib/ and real HTTP to the emulators.
//
// Egress to the loopback emulators needs the test-only allowance CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS,
// read once by lib/env on its first use — and lib/logger uses it while being imported. So every test
// file sets it in `vi.hoisted` (which runs before any import), and checks with expectLoopbackAllowance:
//   vi.hoisted(() => { process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true"; });

import crypto from "node:crypto";
import { expect } from "vitest";
import type { Db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { createConnection } from "@/lib/connections/create-connection";
import { createConsentLink } from "@/lib/connections/create-consent-link";
import { startConsent } from "@/lib/consent/start-consent";
import { completeConsent, type ConsentOutcome } from "@/lib/consent/complete-consent";
import { openToken } from "@/lib/tokens/token-secrets";
import { followAuthorize, type BaseEmulator, type CookieJar } from "../fixtures/http-emulator";
import { seedOrg } from "./factories";

export const actor = { type: "system", label: "consent test" } as const;

/** A fresh flow-cookie value: one per simulated browser. */
export const newBrowser = () => crypto.randomBytes(32).toString("base64url");

/** The redirect URI Consentry sends for a provider (CONSENTRY_URL is the default http://localhost:3000). */
export function callbackFor(providerId: string): string {
  return `${env().publicUrl}/api/oauth/callback/${providerId}`;
}

/** The loopback allowance must be on for files that talk to emulators (and off where a file says so). */
export function expectLoopbackAllowance(on: boolean) {
  expect(env().egress.allowLoopback).toBe(on);
}

export async function newOrg(db: Db, name = "Org") {
  return seedOrg(db, { name: `${name} ${crypto.randomBytes(3).toString("hex")}` });
}

export async function newConnection(db: Db, organizationId: string, input: Record<string, unknown>) {
  return createConnection({
    db,
    organizationId,
    input: { name: `Conn ${crypto.randomBytes(3).toString("hex")}`, ...input },
    actor,
  });
}

export type StartedFlow = { consentRequestId: string; authorizationUrl: string; browserSecret: string };

/** Consent link + startConsent, as a tenant admin opening the link in `browserSecret`'s browser. */
export async function startFlow(
  db: Db,
  organizationId: string,
  connectionId: string,
  browserSecret = newBrowser(),
): Promise<StartedFlow> {
  const link = await createConsentLink({ db, organizationId, connectionId, actor });
  const { authorizationUrl } = await startConsent({
    db,
    consentRequestId: link.id,
    organizationId,
    browserSecret,
    actor: { type: "anonymous" },
  });
  return { consentRequestId: link.id, authorizationUrl, browserSecret };
}

/** Plays the browser at the emulator and returns the redirect it sends back (not fetched). */
export async function authorizeAt(
  authorizationUrl: string,
  opts: { origins?: string[]; jar?: CookieJar } = {},
): Promise<URL> {
  return followAuthorize(authorizationUrl, {
    origins: opts.origins ?? [new URL(authorizationUrl).origin],
    jar: opts.jar,
  });
}

/** What the callback route does: the provider from the path, the query as params. */
export async function deliverCallback(
  db: Db,
  callback: URL | string,
  browserSecret: string | undefined,
): Promise<ConsentOutcome> {
  const u = typeof callback === "string" ? new URL(callback) : callback;
  const m = /^\/api\/oauth\/callback\/([a-z0-9-]+)$/.exec(u.pathname);
  if (!m) throw new Error(`not a Consentry callback URL: ${u.pathname}`);
  return completeConsent({ db, providerId: m[1]!, params: new URLSearchParams(u.search), browserSecret });
}

/** start → authorize → callback in one go. */
export async function runFlow(
  db: Db,
  organizationId: string,
  connectionId: string,
  opts: { origins?: string[]; jar?: CookieJar; browserSecret?: string } = {},
) {
  const flow = await startFlow(db, organizationId, connectionId, opts.browserSecret);
  const callback = await authorizeAt(flow.authorizationUrl, opts);
  const outcome = await deliverCallback(db, callback, flow.browserSecret);
  return { ...flow, callback, outcome };
}

/**
 * Captures the next token-endpoint response exactly as the emulator issued it (the real handler runs;
 * the body is passed through unchanged). Read `.body` after the exchange.
 */
export function captureNextTokenResponse(emu: BaseEmulator): { body: Record<string, unknown> | undefined } {
  const box: { body: Record<string, unknown> | undefined } = { body: undefined };
  emu.failNext({
    transform: (b) => {
      box.body = { ...b };
      return b;
    },
  });
  return box;
}

/** The stored token set of a connection, decrypted with the row binding lib/tokens uses. */
export async function storedTokens(db: Db, organizationId: string, connectionId: string) {
  const row = await db.tokenSet.findUnique({ where: { connectionId } });
  if (!row) return null;
  const owner = { organizationId, connectionId };
  return {
    row,
    accessToken: openToken(owner, "accessTokenEnc", row.accessTokenEnc),
    refreshToken: row.refreshTokenEnc ? openToken(owner, "refreshTokenEnc", row.refreshTokenEnc) : null,
    idToken: row.idTokenEnc ? openToken(owner, "idTokenEnc", row.idTokenEnc) : null,
  };
}

export async function auditActions(db: Db, where: { organizationId?: string | null; action?: string } = {}) {
  const rows = await db.auditEvent.findMany({ where, orderBy: { createdAt: "asc" } });
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}

/** Header and payload of a compact JWS/JWT without verifying it. */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split(".");
  const dec = (s: string | undefined) =>
    JSON.parse(Buffer.from(s ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  return { header: dec(h), payload: dec(p) };
}

export function expectFailure(outcome: ConsentOutcome, reason: string) {
  expect(outcome.ok, JSON.stringify(outcome)).toBe(false);
  if (!outcome.ok) expect(outcome.reason).toBe(reason);
}

export function expectSuccess(outcome: ConsentOutcome) {
  expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
}

/** A connection that got no tokens: still waiting for consent, no token set row. */
export async function expectNothingStored(db: Db, connectionId: string) {
  const c = await db.connection.findUniqueOrThrow({ where: { id: connectionId } });
  expect(c.status).toBe("pending_consent");
  expect(c.externalTenantId).toBeNull();
  expect(c.connectedAt).toBeNull();
  expect(await db.tokenSet.count({ where: { connectionId } })).toBe(0);
}
