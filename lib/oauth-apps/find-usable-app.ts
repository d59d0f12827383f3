import type { Db } from "@/lib/db/client";

/** Apps an organization may use for a provider: its own and the platform's ("embedded") ones. */
export const usableAppsWhere = (organizationId: string, providerId: string) => ({
  providerId,
  OR: [{ organizationId }, { organizationId: null }],
});

/** The app `id` if this organization may use it for `providerId`, else null (another organization's looks missing). */
export function findUsableOAuthApp(db: Db, organizationId: string, providerId: string, id: string) {
  return db.oAuthApp.findFirst({ where: { id, ...usableAppsWhere(organizationId, providerId) }, select: { id: true } });
}
