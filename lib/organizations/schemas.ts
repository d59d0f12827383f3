import { z } from "zod";

export const ZOrgSlug = z
  .string()
  .trim()
  .toLowerCase()
  .min(2, "validation.slugLength")
  .max(48, "validation.slugLength")
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "validation.slugFormat")
  .refine((s) => !["new", "admin", "api", "settings"].includes(s), "validation.slugReserved");

export const ZCreateOrganization = z.object({
  name: z.string().trim().min(1, "validation.nameRequired").max(100, "validation.nameTooLong"),
  slug: ZOrgSlug,
});
export type TCreateOrganization = z.infer<typeof ZCreateOrganization>;
