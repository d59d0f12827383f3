// Fills provider URL templates and applies installation host overrides (CONSENTRY_PROVIDER_HOSTS
// maps a real origin to another, e.g. a local emulator in tests or a sovereign cloud in production).
import { env } from "@/lib/env";
import type { TProvider } from "@/lib/providers/schema";
import { AppError } from "@/lib/errors";

export type TemplateContext = {
  settings?: Record<string, unknown>;
  tenant?: string | null;
  metadata?: Record<string, unknown>;
  /** host replacements decided during the flow (Zoho's accounts-server), already allow-listed */
  hostOverrides?: Record<string, string>;
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Renders a template; returns null when an optional value is empty (e.g. no refresh URL). */
export function renderTemplate(provider: TProvider, template: string | undefined, ctx: TemplateContext): string | null {
  if (!template) return null;
  let missing = false;
  const out = template.replace(/\{([a-z]+)(?:\.([a-z0-9_]+))?\}/gi, (_m, scope: string, key: string | undefined) => {
    let v: unknown;
    if (scope === "hosts" && key) {
      v =
        ctx.hostOverrides?.[key] ??
        (provider.hosts[key]
          ? renderTemplate(provider, provider.hosts[key], { ...ctx, hostOverrides: undefined })
          : undefined);
    } else if (scope === "settings" && key) v = ctx.settings?.[key];
    else if (scope === "metadata" && key) v = ctx.metadata?.[key];
    else if (scope === "tenant") {
      if (ctx.tenant && !GUID.test(ctx.tenant))
        throw new AppError("bad-request", "The tenant id is not a GUID.", { i18n: { key: "errors.tenantNotGuid" } });
      v = ctx.tenant;
    }
    if (v === undefined || v === null || v === "") {
      missing = true;
      return "";
    }
    return String(v);
  });
  return missing ? null : out;
}

let parsedOverrides: Map<string, string> | undefined;

/** Tests only: point provider origins at emulators started on dynamic ports. */
export function setProviderHostOverridesForTests(map: Record<string, string> | undefined) {
  parsedOverrides = map
    ? new Map(Object.entries(map).map(([from, to]) => [new URL(from).origin, new URL(to).origin]))
    : undefined;
}

function overrides(): Map<string, string> {
  if (parsedOverrides) return parsedOverrides;
  const m = new Map<string, string>();
  for (const [from, to] of Object.entries(env().providerHosts)) m.set(new URL(from).origin, new URL(to).origin);
  return (parsedOverrides = m);
}

/** The URL actually used: the template's result with the installation's origin overrides applied. */
export function applyHostOverrides(url: string): string {
  const u = new URL(url);
  const to = overrides().get(u.origin);
  if (!to) return u.toString();
  const t = new URL(to);
  u.protocol = t.protocol;
  u.host = t.host;
  // the host setter keeps the old port when the new host has none: take the override's (possibly default) port
  u.port = t.port;
  return u.toString();
}

/** Render + override; throws when a required URL cannot be built. */
export function providerUrl(
  provider: TProvider,
  template: string | undefined,
  ctx: TemplateContext,
  what: string,
): string {
  const rendered = renderTemplate(provider, template, ctx);
  if (!rendered)
    throw new AppError("bad-request", `The ${what} of ${provider.name} is not configured for this connection.`, {
      i18n: { key: "errors.urlNotConfigured", values: { what, provider: provider.name } },
    });
  return applyHostOverrides(rendered);
}

/** Where a refresh goes: the provider's refresh URL when this connection has one (an optional setting), else its token URL. */
export function refreshTokenUrl(provider: TProvider, ctx: TemplateContext): string {
  const refresh = renderTemplate(provider, provider.refreshUrl, ctx);
  return refresh ? applyHostOverrides(refresh) : providerUrl(provider, provider.tokenUrl, ctx, "token URL");
}

/** Host replacements a flow decided (e.g. Zoho's accounts-server), kept in connection metadata as "host.<name>". */
export function hostOverridesFromMetadata(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(metadata)
      .filter(([k]) => k.startsWith("host."))
      .map(([k, v]) => [k.slice(5), v]),
  );
}

/** The client authentication to use: the connection's `client_auth` setting (generic provider) or the provider's. */
export function clientAuthMethod(
  provider: TProvider,
  settings: Record<string, unknown>,
): "client_secret_post" | "client_secret_basic" {
  return settings.client_auth === "client_secret_basic" || settings.client_auth === "client_secret_post"
    ? settings.client_auth
    : provider.clientAuth;
}
