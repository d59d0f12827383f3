// Every URL field is checked the same way: these syntax rules in zod where the input enters, then, for
// the URLs Consentry will call, the egress policy for all of them at once
// (lib/validation/check-outbound-urls.ts). No server-only imports: schemas are shared with the browser.
import { z } from "zod";

export const MAX_URL_LENGTH = 2048;

/**
 * - "outbound": an address Consentry calls (provider endpoints, webhook receivers): http(s) here, https
 *   only once the egress policy has looked at it (plain http under the test-only loopback allowance).
 * - "redirect": a redirect URI registered at a provider (RFC 6749 §3.1.2, RFC 8252 §7.3): https, or
 *   http on a loopback address (the headless paste path).
 * Neither takes credentials (user@host) or a #fragment; nothing a browser would run (javascript:, data:).
 */
export type TUrlKind = "outbound" | "redirect";

const LOOPBACK_HOSTS = ["127.0.0.1", "[::1]", "localhost"];

/** The message key for what is wrong with the URL's syntax, or null. */
export function urlSyntaxProblem(value: string, kind: TUrlKind): string | null {
  if (!URL.canParse(value)) return "validation.url";
  const u = new URL(value);
  const schemeOk =
    kind === "redirect"
      ? u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK_HOSTS.includes(u.hostname))
      : u.protocol === "https:" || u.protocol === "http:";
  if (!schemeOk) return kind === "redirect" ? "validation.redirectUri" : "validation.url";
  if (u.username || u.password) return "validation.urlCredentials";
  if (u.hash || value.includes("#")) return "validation.urlFragment";
  return null;
}

/** A URL field: trimmed, at most 2048 characters, and the syntax rules of its kind. */
export function zUrl(kind: TUrlKind = "outbound") {
  return z
    .string()
    .trim()
    .max(MAX_URL_LENGTH)
    .superRefine((v, ctx) => {
      const problem = urlSyntaxProblem(v, kind);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });
}
