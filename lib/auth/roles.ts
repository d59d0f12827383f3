import { z } from "zod";

export const ROLES = ["member", "admin", "owner"] as const;
export const ZRole = z.enum(ROLES);
export type TRole = z.infer<typeof ZRole>;

export function roleAtLeast(role: TRole, min: TRole): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(min);
}
