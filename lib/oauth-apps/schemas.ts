import { z } from "zod";
import { zUrl } from "@/lib/validation/url-fields";

const blankToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

export const ZOAuthAppInput = z.object({
  providerId: z.string().min(1).max(64),
  name: z.string().trim().min(1, "validation.nameRequired").max(100, "validation.nameTooLong"),
  clientId: z.string().trim().min(1, "validation.clientIdRequired").max(512),
  /** write-only: blank or absent keeps the stored secret */
  clientSecret: z.preprocess(blankToUndefined, z.string().max(4096).optional()),
  /** a redirect URI registered at the provider that Consentry cannot receive (headless path) */
  // RFC 6749 §3.1.2 and RFC 8252 §7.3: https, or http on a loopback address (the headless paste
  // path); never javascript:, data:, ftp: or a fragment
  redirectUri: z.preprocess(blankToUndefined, zUrl("redirect").optional()),
  /** Microsoft: the app's home tenant (a GUID), sent as the Activity API's PublisherIdentifier */
  publisherTenantId: z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "validation.guid")
      .optional(),
  ),
  certificatePem: z.preprocess(blankToUndefined, z.string().max(20_000).optional()),
  privateKeyPem: z.preprocess(blankToUndefined, z.string().max(20_000).optional()),
  generateCertificate: z.preprocess((v) => v === true || v === "on" || v === "true", z.boolean()).default(false),
  removeSecret: z.preprocess((v) => v === true || v === "on" || v === "true", z.boolean()).default(false),
});
export type TOAuthAppInput = z.input<typeof ZOAuthAppInput>;
