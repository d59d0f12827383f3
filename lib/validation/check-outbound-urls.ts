// The egress policy (lib/oauth/egress.ts) for every URL of one submit at once, so a form shows every
// refused address beside its field in one answer instead of the first one only.
import type { FieldError } from "@/lib/errors";
import { env } from "@/lib/env";
import { vetUrl } from "@/lib/oauth/egress";
import { urlSyntaxProblem } from "@/lib/validation/url-fields";

/** The field error for a URL the egress policy refuses, in message keys (translated in forms, English in the API). */
async function outboundProblem(path: string, url: string): Promise<FieldError | null> {
  const refusal = await vetUrl(url);
  if (!refusal) return null;
  const host = refusal.host ?? (URL.canParse(url) ? new URL(url).hostname : url);
  switch (refusal.code) {
    case "blocked_address":
      return { path, message: "validation.urlNotPublic", values: { host } };
    case "network":
      return { path, message: "validation.urlHostNotFound", values: { host } };
    case "timeout":
      return { path, message: "validation.urlHostTimeout", values: { host } };
    default: {
      const u = URL.canParse(url) ? new URL(url) : null;
      if (u?.protocol === "http:" && !env().egress.allowLoopback) return { path, message: "validation.urlHttps" };
      if (u && !u.hostname.includes(".") && u.hostname !== "localhost")
        return { path, message: "validation.urlHostName" };
      return { path, message: urlSyntaxProblem(url, "outbound") ?? "validation.url" };
    }
  }
}

/**
 * The egress policy for every given URL at once (looked up side by side): one field error per refused
 * URL, in the order given. Empty when all of them may be called.
 */
export async function checkOutboundUrls(urls: ReadonlyArray<{ path: string; url: string }>): Promise<FieldError[]> {
  const problems = await Promise.all(urls.map(({ path, url }) => outboundProblem(path, url)));
  return problems.filter((p): p is FieldError => p !== null);
}
