import type { Db } from "@/lib/db/client";

/** OAuth apps an organization can use: its own ("custom") and the platform's ("embedded"). Secrets are reported only as set/unset. */
export async function listOAuthApps({ db, organizationId }: { db: Db; organizationId: string }) {
  const rows = await db.oAuthApp.findMany({
    where: { OR: [{ organizationId }, { organizationId: null }] },
    select: {
      id: true,
      organizationId: true,
      providerId: true,
      name: true,
      clientId: true,
      clientSecretEnc: true,
      certificateThumbprint: true,
      createdAt: true,
    },
    orderBy: [{ providerId: "asc" }, { name: "asc" }],
  });
  return rows.map(({ clientSecretEnc, organizationId: owner, ...r }) => ({
    ...r,
    ownership: owner ? ("custom" as const) : ("embedded" as const),
    clientSecretSet: clientSecretEnc !== null,
  }));
}
