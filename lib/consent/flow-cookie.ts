// The browser binding of a consent flow: a random value in an HttpOnly cookie whose hash is stored
// with the state, so a callback carrying a state issued to another browser is refused (RFC 9700 §2.1).
// `__Host-` (Secure, Path=/, no Domain) whenever Consentry is served over https.
import { env } from "@/lib/env";

export function flowCookieName(): string {
  return env().publicUrl.startsWith("https://") ? "__Host-consentry-flow" : "consentry-flow";
}

export function flowCookieOptions() {
  return {
    httpOnly: true,
    secure: env().publicUrl.startsWith("https://"),
    sameSite: "lax" as const,
    path: "/",
    maxAge: 15 * 60,
  };
}
