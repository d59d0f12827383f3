import type { Db } from "@/lib/db/client";

/** An organization's API keys: the visible prefix and metadata, never the hash. */
export async function listApiKeys({ db, organizationId }: { db: Db; organizationId: string }) {
  return db.apiKey.findMany({
    where: { organizationId },
    select: {
      id: true,
      name: true,
      prefix: true,
      scopes: true,
      expiresAt: true,
      revokedAt: true,
      lastUsedAt: true,
      createdAt: true,
    },
    orderBy: { createdAt: "desc" },
  });
}
