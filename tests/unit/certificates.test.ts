import { createPrivateKey, generateKeyPairSync, webcrypto, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  azureKeyCredentials,
  generateSelfSignedCertificate,
  parseCertificateAndKey,
  type CertificateInfo,
  type GeneratedCertificate,
} from "@/lib/crypto/certificates";

const subtle = webcrypto.subtle as unknown as SubtleCrypto;

/** node:crypto's fingerprint ("AB:CD:…") → the bytes, for an independent thumbprint check. */
const fingerprintBytes = (fp: string) => Buffer.from(fp.replace(/:/g, ""), "hex");

function pem(der: ArrayBuffer | Buffer, label: string): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

let generated: GeneratedCertificate;
let other: GeneratedCertificate;
let info: CertificateInfo;
let x509: typeof import("@peculiar/x509");

/** A certificate made with other parameters than Consentry's generator uses (weak key, EC, dates). */
async function makeCertificate(opts: {
  algorithm: RsaHashedKeyGenParams | EcKeyGenParams;
  notBefore?: Date;
  notAfter?: Date;
}) {
  const keys = (await subtle.generateKey(opts.algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const signingAlgorithm = opts.algorithm.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : opts.algorithm;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: "01",
      name: "CN=Test",
      notBefore: opts.notBefore ?? new Date(Date.now() - 60_000),
      notAfter: opts.notAfter ?? new Date(Date.now() + 86_400_000),
      signingAlgorithm,
      keys,
    },
    webcrypto as unknown as Crypto,
  );
  return {
    certificatePem: pem(Buffer.from(cert.rawData), "CERTIFICATE"),
    privateKeyPem: pem(await subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY"),
  };
}

beforeAll(async () => {
  [generated, other] = await Promise.all([
    generateSelfSignedCertificate({ commonName: "Consentry Test" }),
    generateSelfSignedCertificate({ commonName: "Other", validDays: 30 }),
  ]);
  info = parseCertificateAndKey(generated);
  // the generator has installed the Reflect metadata stand-in the library needs
  x509 = await import("@peculiar/x509");
}, 30_000);

describe("generateSelfSignedCertificate", () => {
  it("produces a PEM certificate and an unencrypted PKCS#8 RSA-2048 key", () => {
    expect(generated.certificatePem).toMatch(
      /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/,
    );
    expect(generated.privateKeyPem).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/,
    );
    const key = createPrivateKey(generated.privateKeyPem);
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.asymmetricKeyDetails?.publicExponent).toBe(65537n);
  });

  it("is a valid self-signed SHA-256 end-entity certificate for that key", () => {
    const cert = new X509Certificate(generated.certificatePem);
    expect(cert.subject).toBe("CN=Consentry Test");
    expect(cert.issuer).toBe("CN=Consentry Test");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(generated.privateKeyPem))).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]); // clientAuth
    // sha256WithRSAEncryption OID 1.2.840.113549.1.1.11
    expect(cert.raw.includes(Buffer.from("06092a864886f70d01010b", "hex"))).toBe(true);
    expect(cert.raw.includes(Buffer.from("06092a864886f70d010105", "hex"))).toBe(false); // not sha1WithRSA
    expect(/^[0-7]/.test(cert.serialNumber)).toBe(true); // positive
  });

  it("is valid now for validDays (730 by default)", () => {
    const day = 86_400_000;
    expect(info.notBefore.getTime()).toBeLessThanOrEqual(Date.now());
    expect(Math.round((info.notAfter.getTime() - Date.now()) / day)).toBe(730);
    const o = parseCertificateAndKey(other);
    expect(Math.round((o.notAfter.getTime() - Date.now()) / day)).toBe(30);
  });

  it("gives every certificate its own key and serial number", () => {
    expect(new X509Certificate(other.certificatePem).serialNumber).not.toBe(
      new X509Certificate(generated.certificatePem).serialNumber,
    );
    expect(parseCertificateAndKey(other).thumbprintSha1Base64Url).not.toBe(info.thumbprintSha1Base64Url);
    expect(other.privateKeyPem).not.toBe(generated.privateKeyPem);
  });

  it("takes the common name literally (no RDN injection)", async () => {
    const g = await generateSelfSignedCertificate({ commonName: "Contoso, Inc. O=Evil+CN=x", validDays: 1 });
    const subject = new X509Certificate(g.certificatePem).subject;
    expect(subject.split("\n")).toHaveLength(1);
    expect(subject).toBe("CN=Contoso\\, Inc. O=Evil\\+CN=x");
  });

  it("refuses an empty name or an odd validity", async () => {
    await expect(generateSelfSignedCertificate({ commonName: "  " })).rejects.toThrow(/name/);
    await expect(generateSelfSignedCertificate({ commonName: "x", validDays: 0 })).rejects.toThrow(/validity/);
    await expect(generateSelfSignedCertificate({ commonName: "x", validDays: 1.5 })).rejects.toThrow(/validity/);
  });
});

describe("parseCertificateAndKey", () => {
  it("returns thumbprints that match node:crypto's fingerprints", () => {
    const cert = new X509Certificate(generated.certificatePem);
    const sha1 = fingerprintBytes(cert.fingerprint);
    const sha256 = fingerprintBytes(cert.fingerprint256);
    expect(sha1).toHaveLength(20);
    expect(info.thumbprintSha1Base64Url).toBe(sha1.toString("base64url"));
    expect(info.thumbprintSha1Base64Url).toMatch(/^[A-Za-z0-9_-]{27}$/);
    expect(info.thumbprintSha256Base64Url).toBe(sha256.toString("base64url"));
    expect(info.thumbprintSha256Base64Url).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // the manifest customKeyIdentifier is the PowerShell [Convert]::ToBase64String($cer.GetCertHash())
    expect(info.thumbprintSha1Base64).toBe(sha1.toString("base64"));
    expect(info.thumbprintSha1Base64).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    // the manifest value is [Convert]::ToBase64String($cer.GetRawCertData())
    expect(info.derBase64).toBe(cert.raw.toString("base64"));
    expect(info.derBase64).toBe(generated.certificatePem.replace(/-----[A-Z ]+-----|\s/g, ""));
  });

  it("returns dates, subject, a normalised certificate and key", () => {
    const cert = new X509Certificate(generated.certificatePem);
    expect(info.notBefore).toEqual(new Date(cert.validFrom));
    expect(info.notAfter).toEqual(new Date(cert.validTo));
    expect(info.subject).toBe("CN=Consentry Test");
    expect(info.keyBits).toBe(2048);
    expect(info.certificatePem).toBe(generated.certificatePem);
    expect(info.privateKeyPem).toBe(generated.privateKeyPem);
  });

  it("accepts Windows line endings, surrounding text, a chain and a PKCS#1 key", () => {
    const pkcs1 = createPrivateKey(generated.privateKeyPem).export({ format: "pem", type: "pkcs1" }).toString();
    expect(pkcs1).toContain("BEGIN RSA PRIVATE KEY");
    const parsed = parseCertificateAndKey({
      certificatePem: `Bag Attributes\r\nsubject=CN=Consentry Test\r\n${generated.certificatePem.replace(/\n/g, "\r\n")}${other.certificatePem}`,
      privateKeyPem: `  ${pkcs1}  `,
    });
    expect(parsed.thumbprintSha1Base64Url).toBe(info.thumbprintSha1Base64Url);
    expect(parsed.privateKeyPem).toBe(generated.privateKeyPem); // normalised to PKCS#8
  });

  it("refuses a key that does not belong to the certificate", () => {
    expect(
      errorOf(() =>
        parseCertificateAndKey({ certificatePem: generated.certificatePem, privateKeyPem: other.privateKeyPem }),
      ),
    ).toBe("The private key does not belong to this certificate. Upload the key that was generated together with it.");
  });

  it.each([
    ["", /^No certificate was given/],
    ["hello world", /^Not a PEM certificate\./],
    ["-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----", /not base64/],
    ["-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----", /could not be read/],
    ["-----BEGIN CERTIFICATE-----\nMIIDJjCCAg6gAwIBAgIQ\n-----END CERTIFICATE-----", /could not be read/],
  ])("refuses the certificate %j", (certificatePem, message) => {
    expect(errorOf(() => parseCertificateAndKey({ certificatePem, privateKeyPem: generated.privateKeyPem }))).toMatch(
      message,
    );
  });

  it("refuses a truncated or padded certificate", () => {
    const der = new X509Certificate(generated.certificatePem).raw;
    const truncated = pem(der.subarray(0, der.length - 10), "CERTIFICATE");
    expect(
      errorOf(() => parseCertificateAndKey({ certificatePem: truncated, privateKeyPem: generated.privateKeyPem })),
    ).toMatch(/^Not a PEM certificate/);
    const padded = pem(Buffer.concat([der, Buffer.from([0, 0, 0, 0])]), "CERTIFICATE");
    expect(
      errorOf(() => parseCertificateAndKey({ certificatePem: padded, privateKeyPem: generated.privateKeyPem })),
    ).toMatch(/^Not a PEM certificate/);
  });

  it("says so when the certificate and the key are swapped", () => {
    expect(
      errorOf(() =>
        parseCertificateAndKey({ certificatePem: generated.privateKeyPem, privateKeyPem: generated.certificatePem }),
      ),
    ).toMatch(/^Not a PEM certificate: this is a private key/);
    expect(
      errorOf(() =>
        parseCertificateAndKey({ certificatePem: generated.certificatePem, privateKeyPem: generated.certificatePem }),
      ),
    ).toMatch(/^Not a PEM private key: this is a certificate/);
  });

  it.each([
    ["", /^No private key was given/],
    ["garbage", /^Not a PEM private key\./],
    ["-----BEGIN PRIVATE KEY-----\naGVsbG8=\n-----END PRIVATE KEY-----", /could not be read/],
  ])("refuses the key %j", (privateKeyPem, message) => {
    expect(errorOf(() => parseCertificateAndKey({ certificatePem: generated.certificatePem, privateKeyPem }))).toMatch(
      message,
    );
  });

  it("asks for an unencrypted key", () => {
    const encrypted = createPrivateKey(generated.privateKeyPem)
      .export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "pw" })
      .toString();
    expect(encrypted).toContain("ENCRYPTED PRIVATE KEY");
    expect(
      errorOf(() => parseCertificateAndKey({ certificatePem: generated.certificatePem, privateKeyPem: encrypted })),
    ).toMatch(/passphrase/);
  });

  it("refuses RSA keys shorter than 2048 bits", async () => {
    const weak = await makeCertificate({
      algorithm: {
        name: "RSASSA-PKCS1-v1_5",
        hash: "SHA-256",
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
      },
    });
    expect(errorOf(() => parseCertificateAndKey(weak))).toMatch(/RSA-1024; at least RSA-2048 is required/);
  });

  it("refuses non-RSA certificates and keys", async () => {
    const ec = await makeCertificate({ algorithm: { name: "ECDSA", namedCurve: "P-256" } });
    expect(errorOf(() => parseCertificateAndKey(ec))).toMatch(/EC; only RSA keys/);
    const edKey = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    expect(
      errorOf(() => parseCertificateAndKey({ certificatePem: generated.certificatePem, privateKeyPem: edKey })),
    ).toMatch(/ED25519; only RSA keys/);
  });

  it("refuses an expired certificate", async () => {
    const expired = await makeCertificate({
      algorithm: {
        name: "RSASSA-PKCS1-v1_5",
        hash: "SHA-256",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
      },
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2021-01-01T00:00:00Z"),
    });
    expect(errorOf(() => parseCertificateAndKey(expired))).toBe(
      "The certificate expired on 2021-01-01. Create or upload a current certificate.",
    );
    // and ours, seen from after its end
    expect(errorOf(() => parseCertificateAndKey(generated, new Date(info.notAfter.getTime() + 1000)))).toMatch(
      /^The certificate expired on/,
    );
  });

  it("refuses a certificate that is not valid yet (beyond five minutes of skew)", () => {
    expect(errorOf(() => parseCertificateAndKey(generated, new Date(info.notBefore.getTime() - 10 * 60_000)))).toMatch(
      /not valid before/,
    );
    expect(parseCertificateAndKey(generated, new Date(info.notBefore.getTime() - 60_000)).thumbprintSha1Base64).toBe(
      info.thumbprintSha1Base64,
    );
  });
});

describe("azureKeyCredentials", () => {
  it("is exactly the Office 365 Management API manifest keyCredentials entry", () => {
    const keyId = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    const creds = azureKeyCredentials({ certificate: info, keyId });
    expect(creds).toEqual([
      {
        customKeyIdentifier: info.thumbprintSha1Base64,
        keyId,
        type: "AsymmetricX509Cert",
        usage: "Verify",
        value: info.derBase64,
      },
    ]);
    // same key order as the documented JSON
    expect(Object.keys(creds[0]!)).toEqual(["customKeyIdentifier", "keyId", "type", "usage", "value"]);
    // value decodes back to the certificate; customKeyIdentifier is its SHA-1 hash
    const cert = new X509Certificate(Buffer.from(creds[0]!.value, "base64"));
    expect(Buffer.from(creds[0]!.customKeyIdentifier, "base64")).toEqual(fingerprintBytes(cert.fingerprint));
  });

  it("generates a GUID keyId when none is given and refuses a malformed one", () => {
    const [a] = azureKeyCredentials({ certificate: info });
    const [b] = azureKeyCredentials({ certificate: info });
    expect(a!.keyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a!.keyId).not.toBe(b!.keyId);
    expect(() => azureKeyCredentials({ certificate: info, keyId: "not-a-guid" })).toThrow(/GUID/);
  });
});
