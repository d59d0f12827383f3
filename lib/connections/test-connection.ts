// Performs the provider's test request with the stored token and returns the status and a short,
// redacted summary (only the catalogue's summary fields; never tokens or the raw body). The answer
// is read with a redactor of the token the request carried: a provider may echo it in any field.
import { allSettings, apiHeaders } from "@/lib/connections/secret-settings";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { renderTemplate, applyHostOverrides } from "@/lib/providers/resolve-url";
import { EgressError, egressFetch } from "@/lib/oauth/egress";
import { createRedactor } from "@/lib/oauth/redact";
import { openToken } from "@/lib/tokens/token-secrets";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

export type TestResult = {
  ok: boolean;
  status: number | null;
  summary: Record<string, string>;
  message: string;
  durationMs: number;
};

function pick(o: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o);
}

export async function testConnection({
  db,
  organizationId,
  connectionId,
  actor,
}: {
  db: Db;
  organizationId: string;
  connectionId: string;
  actor: Actor;
}): Promise<TestResult> {
  const c = await db.connection.findFirst({ where: { id: connectionId, organizationId }, include: { tokenSet: true } });
  if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
  const provider = PROVIDERS.get(c.providerId);
  if (!provider?.test)
    throw new AppError("bad-request", "This provider has no test request.", { i18n: { key: "errors.noTestRequest" } });
  if (!c.tokenSet || c.status === "revoked")
    throw new AppError("conflict", "The connection has no token yet: complete consent first.", {
      i18n: { key: "errors.notConnected" },
    });
  if (c.expiresAt && c.expiresAt <= new Date())
    throw new AppError("conflict", "The access token has expired; refresh the connection first.", {
      i18n: { key: "errors.tokenExpired" },
    });
  // every setting, secret ones included (the gateway headers), read once
  const settings = allSettings(c);
  const rendered = renderTemplate(provider, provider.test.url, {
    settings,
    tenant: c.externalTenantId,
    metadata: JSON.parse(c.metadata) as Record<string, unknown>,
  });
  if (!rendered)
    throw new AppError("bad-request", "No test URL is configured for this connection.", {
      i18n: { key: "errors.noTestRequest" },
    });
  const token = openToken({ organizationId, connectionId }, "accessTokenEnc", c.tokenSet.accessTokenEnc);
  const url = new URL(applyHostOverrides(rendered));
  const headers: Record<string, string> = { accept: "application/json" };
  const extra = apiHeaders(provider, settings);
  Object.assign(headers, extra);
  if (provider.apiAuth.queryParam) url.searchParams.set(provider.apiAuth.queryParam, token);
  else headers[provider.apiAuth.header.toLowerCase()] = `${provider.apiAuth.prefix}${token}`;
  for (const [k, template] of Object.entries(provider.test.query)) {
    const v = renderTemplate(provider, template, { settings, tenant: c.externalTenantId });
    if (v) url.searchParams.set(k, v);
  }

  // Only the token itself: these APIs' own ids are token-shaped (Webex's base64 person and org ids).
  const redact = createRedactor([token, ...Object.values(extra)], { tokenShapes: false });
  const shown = (v: unknown) => redact(String(v)).slice(0, 200);
  const started = Date.now();
  let result: TestResult;
  try {
    const res = await egressFetch(url.toString(), {
      method: provider.test.method,
      headers,
      timeoutMs: 10_000,
      maxBytes: 256 * 1024,
    });
    let body: unknown = null;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = null;
    }
    const summary: Record<string, string> = {};
    for (const f of provider.test.summaryFields) {
      const v = pick(body, f);
      if (v !== undefined && v !== null && typeof v !== "object") summary[f] = shown(v);
    }
    const ok = res.status >= 200 && res.status < 300;
    result = {
      ok,
      status: res.status,
      summary,
      message: ok ? "The provider accepted the token." : `The provider answered HTTP ${res.status}.`,
      durationMs: Date.now() - started,
    };
    if (ok) {
      const name = provider.test.accountName ? pick(body, provider.test.accountName) : undefined;
      const email = provider.test.accountEmail ? pick(body, provider.test.accountEmail) : undefined;
      const id = provider.test.accountId ? pick(body, provider.test.accountId) : undefined;
      if (name || email || id) {
        await db.connection.updateMany({
          where: { id: connectionId, organizationId },
          data: {
            ...(typeof name === "string" ? { accountName: shown(name) } : {}),
            ...(typeof email === "string" ? { accountEmail: shown(email) } : {}),
            ...(id !== undefined && typeof id !== "object" ? { accountId: shown(id) } : {}),
          },
        });
      }
    }
  } catch (e) {
    if (!(e instanceof EgressError)) throw e;
    result = {
      ok: false,
      status: null,
      summary: {},
      message:
        e.code === "blocked_address"
          ? "The test URL points at an address Consentry does not call."
          : `The provider could not be reached (${e.code}).`,
      durationMs: Date.now() - started,
    };
  }
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "connection.tested",
      outcome: result.ok ? "success" : "failure",
      target: { type: "connection", id: connectionId },
      details: { status: result.status },
    },
    db,
  );
  return result;
}
