// Random values for the flow: state (256 bits), PKCE verifier (43 chars) and its S256 challenge, link tokens.
import crypto from "node:crypto";

export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString("base64url");
}

export function sha256(value: string): string {
  return crypto.createHash("sha256").update(value).digest("base64url");
}

export function createPkce() {
  const verifier = randomToken(32); // 43 characters, RFC 7636 §4.1
  return { verifier, challenge: sha256(verifier), method: "S256" as const };
}
