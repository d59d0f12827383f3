// Which web origins may hear a connect session's result: https origins, and http on a loopback host
// only under the test-only loopback allowance (CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS).
import { env } from "@/lib/env";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** An origin as the browser names it (`https://app.example.com`), or null with why not. */
export function parseOrigin(value: string): { origin: string } | { problem: string } {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return { problem: "validation.originFormat" };
  }
  if (u.username || u.password || (u.pathname !== "/" && u.pathname !== "") || u.search || u.hash)
    return { problem: "validation.originOnly" };
  if (value.replace(/\/$/, "") !== u.origin) return { problem: "validation.originOnly" };
  if (u.protocol === "https:") return { origin: u.origin };
  if (u.protocol === "http:" && LOOPBACK.has(u.hostname) && env().egress.allowLoopback) return { origin: u.origin };
  return { problem: "validation.originHttps" };
}

/** A return URL must be https (or allowed loopback http) and on one of the allowed origins. */
export function returnUrlProblem(value: string, origins: string[]): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return "validation.returnUrlFormat";
  }
  if (u.username || u.password || u.hash) return "validation.returnUrlFormat";
  return origins.includes(u.origin) ? null : "validation.returnUrlOrigin";
}
