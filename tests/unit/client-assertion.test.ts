import { X509Certificate } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, importX509, jwtVerify } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  generateSelfSignedCertificate,
  parseCertificateAndKey,
  type CertificateInfo,
  type GeneratedCertificate,
} from "@/lib/crypto/certificates";
import { MAX_ASSERTION_LIFETIME_SECONDS, signClientAssertion } from "@/lib/oauth/client-assertion";

const TENANT = "41463f53-8812-40f4-890f-865bf6e35190";
const CLIENT_ID = "a6099727-6b7b-482c-b509-1df309acc563";
const TOKEN_URL = `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`;

let cert: GeneratedCertificate;
let otherCert: GeneratedCertificate;
let info: CertificateInfo;

beforeAll(async () => {
  [cert, otherCert] = await Promise.all([
    generateSelfSignedCertificate({ commonName: "Consentry assertion test" }),
    generateSelfSignedCertificate({ commonName: "Someone else" }),
  ]);
  info = parseCertificateAndKey(cert);
}, 30_000);

afterEach(() => {
  vi.useRealTimers();
});

function sign(overrides: Partial<Parameters<typeof signClientAssertion>[0]> = {}) {
  return signClientAssertion({
    clientId: CLIENT_ID,
    audience: TOKEN_URL,
    privateKeyPem: cert.privateKeyPem,
    certificateThumbprints: { sha1: info.thumbprintSha1Base64Url, sha256: info.thumbprintSha256Base64Url },
    ...overrides,
  });
}

describe("signClientAssertion", () => {
  it("verifies with the certificate's public key and carries exactly the RFC 7523 / Entra claims", async () => {
    const jwt = await sign();
    const { payload, protectedHeader } = await jwtVerify(jwt, await importX509(cert.certificatePem, "RS256"), {
      algorithms: ["RS256"],
      audience: TOKEN_URL,
      issuer: CLIENT_ID,
      subject: CLIENT_ID,
      typ: "JWT",
    });
    expect(protectedHeader).toEqual({
      alg: "RS256",
      typ: "JWT",
      x5t: info.thumbprintSha1Base64Url,
      "x5t#S256": info.thumbprintSha256Base64Url,
    });
    expect(Object.keys(payload).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "nbf", "sub"]);
    expect(payload.aud).toBe(TOKEN_URL); // a string, exactly the token URL, not an array
    expect(payload.iss).toBe(CLIENT_ID);
    expect(payload.sub).toBe(CLIENT_ID);
    expect(payload.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(payload.iat).toBe(payload.nbf);
    expect(Math.abs(payload.nbf! - Date.now() / 1000)).toBeLessThan(5);
    expect(payload.exp! - payload.nbf!).toBe(600);
    expect(payload.exp! - payload.nbf!).toBeLessThanOrEqual(MAX_ASSERTION_LIFETIME_SECONDS);
  });

  it("puts the certificate's thumbprints in the header, as node:crypto computes them", async () => {
    const x = new X509Certificate(cert.certificatePem);
    const header = decodeProtectedHeader(await sign());
    expect(header.x5t).toBe(Buffer.from(x.fingerprint.replace(/:/g, ""), "hex").toString("base64url"));
    expect(header["x5t#S256"]).toBe(Buffer.from(x.fingerprint256.replace(/:/g, ""), "hex").toString("base64url"));
  });

  it("uses a fresh jti for every assertion", async () => {
    const jtis = new Set<unknown>();
    for (let i = 0; i < 5; i++) jtis.add(decodeJwt(await sign()).jti);
    expect(jtis.size).toBe(5);
  });

  it("derives nbf, iat and exp from the clock", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2030-05-01T12:00:00.900Z"));
    const claims = decodeJwt(await sign({ lifetimeSeconds: 300 }));
    const now = Math.floor(Date.parse("2030-05-01T12:00:00Z") / 1000);
    expect(claims).toMatchObject({ nbf: now, iat: now, exp: now + 300 });
  });

  it("signs PS256 when asked", async () => {
    const jwt = await sign({ alg: "PS256" });
    const { protectedHeader } = await jwtVerify(jwt, await importX509(cert.certificatePem, "PS256"), {
      audience: TOKEN_URL,
    });
    expect(protectedHeader.alg).toBe("PS256");
    await expect(
      jwtVerify(jwt, await importX509(cert.certificatePem, "RS256"), { algorithms: ["RS256"] }),
    ).rejects.toThrow();
  });

  it("does not verify with another certificate", async () => {
    await expect(jwtVerify(await sign(), await importX509(otherCert.certificatePem, "RS256"))).rejects.toThrow(
      /signature/,
    );
  });

  it("accepts a PKCS#1 key", async () => {
    const pkcs1 = (await import("node:crypto"))
      .createPrivateKey(cert.privateKeyPem)
      .export({ format: "pem", type: "pkcs1" })
      .toString();
    const jwt = await sign({ privateKeyPem: pkcs1 });
    await expect(jwtVerify(jwt, await importX509(cert.certificatePem, "RS256"))).resolves.toBeTruthy();
  });

  it.each([601, 0, -1, 1.5, 3600, Number.NaN])("refuses lifetimeSeconds %s", async (lifetimeSeconds) => {
    await expect(sign({ lifetimeSeconds })).rejects.toThrow(/lifetimeSeconds/);
  });

  it("accepts the 600-second maximum", async () => {
    const c = decodeJwt(await sign({ lifetimeSeconds: 600 }));
    expect(c.exp! - c.nbf!).toBe(600);
  });

  it.each([
    [{ clientId: "" }, /clientId/],
    [{ audience: " " }, /audience/],
    [
      {
        certificateThumbprints: {
          sha1: info?.thumbprintSha1Base64 ?? "mplWnb8IfXDfWON3+WNn5hvJmy8=",
          sha256: "x".repeat(43),
        },
      },
      /sha1/,
    ],
    [{ certificateThumbprints: { sha1: "a".repeat(27), sha256: "short" } }, /sha256/],
    [{ alg: "HS256" as "RS256" }, /alg/],
    [
      { privateKeyPem: "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----" },
      /^signClientAssertion: the private key could not be read$/,
    ],
  ] as Array<[Partial<Parameters<typeof signClientAssertion>[0]>, RegExp]>)(
    "refuses bad input %#",
    async (overrides, message) => {
      await expect(sign(overrides)).rejects.toThrow(message);
    },
  );

  it("refuses a non-RSA key", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ format: "pem", type: "pkcs8" })
      .toString();
    await expect(sign({ privateKeyPem: ec })).rejects.toThrow(/RSA/);
  });
});
