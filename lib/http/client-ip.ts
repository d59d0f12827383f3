import { env } from "@/lib/env";
import { isTrusted, parseIp, type TrustedRanges } from "@/lib/http/trusted-proxies";

export const CLIENT_IP_HEADER = "x-consentry-client-ip";

/** The client address our server recorded (lib/server/main.ts overwrites any incoming value). */
export function clientIp(headers: Headers): string | null {
  return headers.get(CLIENT_IP_HEADER);
}

/**
 * The client's address for audit and every per-address limit: the socket peer, unless the peer is one
 * of CONSENTRY_TRUSTED_PROXIES; then X-Forwarded-For read from the right, skipping the addresses of
 * trusted proxies, and the first one that is not (the left-most when all are). Whatever lies left of
 * that is what the client itself wrote, and is never believed. An entry that is not an address ends
 * the walk at the proxy that wrote it.
 */
export function resolveClientIp(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: TrustedRanges = env().trustedProxies,
): string | null {
  if (!peer) return null;
  if (!trusted.length || !forwardedFor) return peer;
  let hop = parseIp(peer);
  if (!hop || !isTrusted(hop, trusted)) return peer;
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",");
  for (let i = entries.length - 1; i >= 0; i--) {
    if (!entries[i]!.trim()) continue;
    const addr = parseIp(entries[i]!);
    if (!addr) break;
    hop = addr;
    if (!isTrusted(addr, trusted)) break;
  }
  return hop.toString();
}
