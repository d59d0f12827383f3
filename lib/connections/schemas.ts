import { z } from "zod";

export const ZCreateConnection = z.object({
  provider: z.string().min(1).max(64),
  name: z.string().trim().min(1, "validation.nameRequired").max(100, "validation.nameTooLong"),
  settings: z.record(z.string(), z.unknown()).default({}),
  scopes: z
    .array(
      z
        .string()
        .min(1)
        .max(200)
        .regex(/^[^\s,]+$/, "validation.scope"),
    )
    .max(50)
    .optional(),
  oauth_app_id: z.string().min(1).max(64).optional(),
  /** an inline app creates the organization's own ("custom") app, like trocco's form */
  oauth_app: z
    .object({
      client_id: z.string().trim().min(1).max(512),
      client_secret: z.string().max(4096).optional(),
      redirect_uri: z.string().max(2048).optional(),
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
