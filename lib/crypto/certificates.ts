// X.509 certificates for certificate credentials (Azure app-only tokens, private_key_jwt):
// generate a self-signed one, validate an uploaded certificate + private key, and produce the values the
// Azure manifest and the client assertion need (thumbprints, base64 DER, keyCredentials).
import {
  createHash,
  createPrivateKey,
  randomBytes,
  randomUUID,
  sign,
  verify,
  webcrypto,
  X509Certificate,
  type KeyObject,
} from "node:crypto";

// @peculiar/x509 (through tsyringe) refuses to load without a Reflect metadata API, which it only
// reads (no decorator metadata is emitted for its classes). A minimal WeakMap-backed stand-in is
// installed before the library is loaded on first use, so no global polyfill package is needed.
// Parsing uses node:crypto and never loads the library.
function ensureReflectMetadata(): void {
  const R = Reflect as unknown as Record<string, unknown>;
  if (typeof R.getMetadata === "function") return;
  const store = new WeakMap<object, Map<unknown, unknown>>();
  const own = (target: object, create: boolean) => {
    let m = store.get(target);
    if (!m && create) store.set(target, (m = new Map()));
    return m;
  };
  const getOwnMetadata = (key: unknown, target: object) => own(target, false)?.get(key);
  const getMetadata = (key: unknown, target: object): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const m = own(t, false);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
  const defineMetadata = (key: unknown, value: unknown, target: object) => void own(target, true)!.set(key, value);
  Object.assign(R, {
    getOwnMetadata,
    getMetadata,
    defineMetadata,
    hasMetadata: (key: unknown, target: object) => getMetadata(key, target) !== undefined,
    metadata: (key: unknown, value: unknown) => (target: object) => defineMetadata(key, value, target),
  });
}

let x509Module: Promise<typeof import("@peculiar/x509")> | undefined;
function loadX509() {
  ensureReflectMetadata();
  return (x509Module ??= import("@peculiar/x509"));
}

const crypto = webcrypto as unknown as Crypto;
const RSA_MIN_BITS = 2048;
/** A certificate whose notBefore is at most this far in the future is accepted (clock skew). */
const NOT_BEFORE_SKEW_MS = 5 * 60_000;

export type GeneratedCertificate = { certificatePem: string; privateKeyPem: string };

export type CertificateInfo = {
  /** base64url SHA-1 of the DER certificate: the JWT header `x5t`. */
  thumbprintSha1Base64Url: string;
  /** base64url SHA-256 of the DER certificate: the JWT header `x5t#S256`. */
  thumbprintSha256Base64Url: string;
  /** base64 SHA-1 of the DER certificate: the Azure manifest `customKeyIdentifier`. */
  thumbprintSha1Base64: string;
  /** base64 DER certificate: the Azure manifest `value`. */
  derBase64: string;
  notBefore: Date;
  notAfter: Date;
  /** Distinguished name, e.g. "CN=Consentry". */
  subject: string;
  /** The certificate, re-encoded as a single PEM block. */
  certificatePem: string;
  /** The private key, normalised to unencrypted PKCS#8 PEM (what jose and signClientAssertion expect). */
  privateKeyPem: string;
  /** RSA modulus length in bits. */
  keyBits: number;
};

export type AzureKeyCredential = {
  customKeyIdentifier: string;
  keyId: string;
  type: "AsymmetricX509Cert";
  usage: "Verify";
  value: string;
};

function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Positive 16-byte serial number in hex (the top bit cleared so DER does not read it as negative). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

/**
 * Generates an RSA-2048 key and a self-signed SHA-256 certificate for it (digitalSignature, clientAuth).
 * notBefore is backdated five minutes so a freshly generated certificate is usable at once.
 */
export async function generateSelfSignedCertificate({
  commonName,
  validDays = 730,
}: {
  commonName: string;
  validDays?: number;
}): Promise<GeneratedCertificate> {
  const x509 = await loadX509();
  const cn = commonName.trim();
  if (!cn || cn.length > 64) throw new Error("The certificate name must be 1 to 64 characters long.");
  if (!Number.isInteger(validDays) || validDays < 1 || validDays > 3650)
    throw new Error("The validity must be a whole number of days between 1 and 3650.");

  const alg = {
    name: "RSASSA-PKCS1-v1_5",
    hash: "SHA-256",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
  };
  const keys = (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      // JSON form: the name is taken literally, so commas or "=" in it cannot inject RDNs.
      name: [{ CN: [cn] }],
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + validDays * 86_400_000),
      signingAlgorithm: alg,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certificatePem: toPem(cert.rawData, "CERTIFICATE"), privateKeyPem: toPem(pkcs8, "PRIVATE KEY") };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

function pemBlocks(text: string): Array<{ label: string; body: string }> {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, body: m[2]! }));
}

function b64url(buf: Buffer): string {
  return buf.toString("base64url");
}

function readCertificate(certificatePem: string): { der: Buffer; cert: X509Certificate } {
  if (typeof certificatePem !== "string" || !certificatePem.trim())
    throw new Error("No certificate was given. Paste the certificate in PEM form (-----BEGIN CERTIFICATE-----).");
  const blocks = pemBlocks(certificatePem);
  const certBlock = blocks.find((b) => b.label === "CERTIFICATE");
  if (!certBlock) {
    if (blocks.some((b) => b.label.includes("PRIVATE KEY"))) {
      throw new Error(
        "Not a PEM certificate: this is a private key. Paste the certificate (-----BEGIN CERTIFICATE-----) here and the key in the key field.",
      );
    }
    throw new Error(
      "Not a PEM certificate. Paste the certificate in PEM form, starting with -----BEGIN CERTIFICATE-----.",
    );
  }
  const body = certBlock.body.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body))
    throw new Error("Not a PEM certificate: the text between the BEGIN and END lines is not base64.");
  const der = Buffer.from(body, "base64");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new Error(
      "Not a PEM certificate: the certificate could not be read. Export it again as a Base-64 encoded X.509 (.cer/.pem) file.",
    );
  }
  // Trailing bytes after the DER structure would change the thumbprint Azure computes.
  if (!cert.raw.equals(der))
    throw new Error("Not a PEM certificate: the certificate data is damaged (extra bytes after the certificate).");
  return { der, cert };
}

function readPrivateKey(privateKeyPem: string): KeyObject {
  if (typeof privateKeyPem !== "string" || !privateKeyPem.trim())
    throw new Error("No private key was given. Paste the private key in PEM form (-----BEGIN PRIVATE KEY-----).");
  const blocks = pemBlocks(privateKeyPem);
  if (blocks.some((b) => b.label === "ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(privateKeyPem)) {
    throw new Error(
      "The private key is protected with a passphrase. Export it without a passphrase (for example: openssl pkey -in key.pem -out key-plain.pem).",
    );
  }
  const keyBlock = blocks.find((b) => b.label === "PRIVATE KEY" || b.label === "RSA PRIVATE KEY");
  if (!keyBlock) {
    if (blocks.some((b) => b.label === "CERTIFICATE"))
      throw new Error(
        "Not a PEM private key: this is a certificate. Paste the private key (-----BEGIN PRIVATE KEY-----) here.",
      );
    throw new Error(
      "Not a PEM private key. Paste the key in PEM form, starting with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----.",
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: `-----BEGIN ${keyBlock.label}-----${keyBlock.body}-----END ${keyBlock.label}-----\n`,
      format: "pem",
    });
  } catch {
    throw new Error(
      "Not a PEM private key: the key could not be read. Export it again as an unencrypted PKCS#8 or PKCS#1 PEM file.",
    );
  }
  return key;
}

function rsaBits(key: KeyObject, what: string): number {
  if (key.asymmetricKeyType !== "rsa") {
    throw new Error(
      `The ${what} is ${key.asymmetricKeyType?.toUpperCase() ?? "not RSA"}; only RSA keys of at least ${RSA_MIN_BITS} bits are supported.`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < RSA_MIN_BITS) throw new Error(`The ${what} is RSA-${bits}; at least RSA-${RSA_MIN_BITS} is required.`);
  return bits;
}

/**
 * Validates an uploaded certificate and private key and returns what the manifest and the client
 * assertion need. Throws an Error whose message a person can act on.
 */
export function parseCertificateAndKey(
  { certificatePem, privateKeyPem }: { certificatePem: string; privateKeyPem: string },
  now: Date = new Date(),
): CertificateInfo {
  const { der, cert } = readCertificate(certificatePem);
  const key = readPrivateKey(privateKeyPem);

  let publicKey: KeyObject;
  try {
    publicKey = cert.publicKey;
  } catch {
    throw new Error("The certificate's public key could not be read; only RSA certificates are supported.");
  }
  rsaBits(publicKey, "certificate's key");
  const keyBits = rsaBits(key, "private key");

  const challenge = randomBytes(32);
  let matches = false;
  try {
    const signature = sign("sha256", challenge, key);
    matches = verify("sha256", challenge, publicKey, signature);
  } catch {
    matches = false;
  }
  if (!matches)
    throw new Error(
      "The private key does not belong to this certificate. Upload the key that was generated together with it.",
    );

  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime()))
    throw new Error("The certificate's validity dates could not be read.");
  if (notAfter.getTime() <= now.getTime())
    throw new Error(
      `The certificate expired on ${notAfter.toISOString().slice(0, 10)}. Create or upload a current certificate.`,
    );
  if (notBefore.getTime() > now.getTime() + NOT_BEFORE_SKEW_MS) {
    throw new Error(
      `The certificate is not valid before ${notBefore.toISOString()}. Check the certificate dates or upload it once it is valid.`,
    );
  }

  const sha1 = createHash("sha1").update(der).digest();
  const sha256 = createHash("sha256").update(der).digest();
  return {
    thumbprintSha1Base64Url: b64url(sha1),
    thumbprintSha256Base64Url: b64url(sha256),
    thumbprintSha1Base64: sha1.toString("base64"),
    derBase64: der.toString("base64"),
    notBefore,
    notAfter,
    // node prints one RDN per line, most significant first: "C=JP\nO=Example\nCN=Consentry"
    subject: cert.subject.split("\n").filter(Boolean).join(", "),
    certificatePem: toPem(der, "CERTIFICATE"),
    privateKeyPem: key.export({ format: "pem", type: "pkcs8" }).toString(),
    keyBits,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The Azure application manifest `keyCredentials` entry for a certificate (Office 365 Management API
 * docs): customKeyIdentifier = base64 SHA-1 thumbprint, value = base64 DER, keyId = a GUID.
 */
export function azureKeyCredentials({
  certificate,
  keyId = randomUUID(),
}: {
  certificate: Pick<CertificateInfo, "thumbprintSha1Base64" | "derBase64">;
  keyId?: string;
}): AzureKeyCredential[] {
  if (!GUID.test(keyId)) throw new Error("keyId must be a GUID, e.g. 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d.");
  return [
    {
      customKeyIdentifier: certificate.thumbprintSha1Base64,
      keyId,
      type: "AsymmetricX509Cert",
      usage: "Verify",
      value: certificate.derBase64,
    },
  ];
}
