import { z } from "zod";
import { zUrl } from "@/lib/validation/url-fields";

/** A requested scope: one token, no spaces or commas (they separate scopes). */
const ZScope = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s,]+$/, "validation.scope");

export const ZScopes = z.array(ZScope).max(50);

export const METADATA_KEY = /^[a-z0-9_.-]{1,64}$/;
export const METADATA_MAX_KEYS = 32;
export const METADATA_MAX_VALUE = 512;

const ZMetadataKey = z.string().regex(METADATA_KEY, "validation.metadataKey");
const ZMetadataValue = z.string().max(METADATA_MAX_VALUE, "validation.metadataValue");

/** The customer's own keys and values on a connection (their user or account id, say). */
export const ZMetadata = z
  .record(ZMetadataKey, ZMetadataValue, {
    error: (iss) => (iss.code === "invalid_key" ? "validation.metadataKey" : undefined),
  })
  .refine((o) => Object.keys(o).length <= METADATA_MAX_KEYS, "validation.metadataTooMany");

const ZName = z.string().trim().min(1, "validation.nameRequired").max(100, "validation.nameTooLong");

export const ZCreateConnection = z.object({
  provider: z.string().min(1).max(64),
  name: ZName,
  settings: z.record(z.string(), z.unknown()).default({}),
  scopes: ZScopes.optional(),
  metadata: ZMetadata.optional(),
  oauth_app_id: z.string().min(1).max(64).optional(),
  /** an inline app creates the organization's own ("custom") app, like trocco's form */
  oauth_app: z
    .object({
      client_id: z.string().trim().min(1).max(512),
      client_secret: z.string().max(4096).optional(),
      redirect_uri: zUrl("redirect").optional(),
      /** Microsoft: the app's home tenant, sent as the Activity API's PublisherIdentifier */
      publisher_tenant_id: z.string().max(64).optional(),
      certificate: z
        .object({ certificate_pem: z.string().max(20_000), private_key_pem: z.string().max(20_000) })
        .optional(),
    })
    .optional(),
  /** api_key providers: the key itself (stored encrypted like a token) */
  api_key: z.string().min(1).max(4096).optional(),
});
export type TCreateConnection = z.input<typeof ZCreateConnection>;

/**
 * PATCH: `settings` and `metadata` merge (a key set to null is removed), `scopes` replaces the
 * requested set. At least one field.
 */
export const ZUpdateConnection = z
  .object({
    name: ZName.optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    scopes: ZScopes.optional(),
    metadata: z
      .record(ZMetadataKey, ZMetadataValue.nullable(), {
        error: (iss) => (iss.code === "invalid_key" ? "validation.metadataKey" : undefined),
      })
      .optional(),
  })
  .strict()
  .refine((o) => Object.values(o).some((v) => v !== undefined), "validation.nothingToChange");
