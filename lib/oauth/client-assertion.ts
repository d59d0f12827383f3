// JWT client assertions for certificate credentials (RFC 7523, Microsoft identity platform
// "certificate credentials"): one fresh assertion per token request, never reused (fresh jti).
import { createPrivateKey, randomUUID, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";

export type ClientAssertionAlg = "RS256" | "PS256";

/** Microsoft accepts assertions valid for at most 10 minutes (exp − nbf). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 600;

export type SignClientAssertionInput = {
  clientId: string;
  /** The token endpoint URL exactly as POSTed to, e.g. https://login.microsoftonline.com/{tid}/oauth2/v2.0/token. */
  audience: string;
  /** PKCS#8 (or PKCS#1) PEM of the certificate's RSA private key. */
  privateKeyPem: string;
  /** base64url thumbprints of the DER certificate (see parseCertificateAndKey). */
  certificateThumbprints: { sha1: string; sha256: string };
  lifetimeSeconds?: number;
  alg?: ClientAssertionAlg;
};

const B64URL_SHA1 = /^[A-Za-z0-9_-]{27}$/;
const B64URL_SHA256 = /^[A-Za-z0-9_-]{43}$/;

/**
 * Signs a client assertion: header { alg, typ: "JWT", x5t, "x5t#S256" }, claims aud = audience,
 * iss = sub = clientId, jti = random UUID, iat = nbf = now, exp = nbf + lifetime (≤ 600 s).
 */
export async function signClientAssertion({
  clientId,
  audience,
  privateKeyPem,
  certificateThumbprints,
  lifetimeSeconds = MAX_ASSERTION_LIFETIME_SECONDS,
  alg = "RS256",
}: SignClientAssertionInput): Promise<string> {
  if (typeof clientId !== "string" || !clientId.trim()) throw new Error("signClientAssertion: clientId is required");
  if (typeof audience !== "string" || !audience.trim()) throw new Error("signClientAssertion: audience is required");
  if (alg !== "RS256" && alg !== "PS256") throw new Error(`signClientAssertion: unsupported alg ${String(alg)}`);
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds <= 0 || lifetimeSeconds > MAX_ASSERTION_LIFETIME_SECONDS) {
    throw new Error(
      `signClientAssertion: lifetimeSeconds must be a whole number from 1 to ${MAX_ASSERTION_LIFETIME_SECONDS}`,
    );
  }
  if (!B64URL_SHA1.test(certificateThumbprints?.sha1 ?? ""))
    throw new Error("signClientAssertion: certificateThumbprints.sha1 must be a base64url SHA-1 thumbprint");
  if (!B64URL_SHA256.test(certificateThumbprints?.sha256 ?? ""))
    throw new Error("signClientAssertion: certificateThumbprints.sha256 must be a base64url SHA-256 thumbprint");

  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKeyPem, format: "pem" });
  } catch {
    // never echo the key material
    throw new Error("signClientAssertion: the private key could not be read");
  }
  if (key.asymmetricKeyType !== "rsa") throw new Error("signClientAssertion: the private key must be an RSA key");

  const nbf = Math.floor(Date.now() / 1000);
  return new SignJWT({
    aud: audience,
    iss: clientId,
    sub: clientId,
    jti: randomUUID(),
    nbf,
    iat: nbf,
    exp: nbf + lifetimeSeconds,
  })
    .setProtectedHeader({
      alg,
      typ: "JWT",
      x5t: certificateThumbprints.sha1,
      "x5t#S256": certificateThumbprints.sha256,
    })
    .sign(key);
}
