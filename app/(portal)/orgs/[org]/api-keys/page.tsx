import { getFormatter, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { listApiKeys } from "@/lib/api-keys/list-api-keys";
import { Badge, EmptyState, PageHeader } from "@/app/_components/ui";

export async function generateMetadata() {
  return { title: (await getTranslations("apiKeys"))("title") };
}

export default async function ApiKeysPage({ params }: { params: Promise<{ org: string }> }) {
  const { org } = await requireOrg((await params).org, "admin");
  const t = await getTranslations("apiKeys");
  const format = await getFormatter();
  const keys = await listApiKeys({ db: db(), organizationId: org.id });
  const now = new Date();
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      {keys.length === 0 ? (
        <EmptyState title={t("emptyTitle")} body={t("emptyBody", { slug: org.slug })} />
      ) : (
        <div className="card overflow-x-auto">
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">{t("name")}</th>
                <th scope="col">{t("key")}</th>
                <th scope="col">{t("scopes")}</th>
                <th scope="col">{t("lastUsed")}</th>
                <th scope="col">{t("state")}</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => {
                const state = k.revokedAt ? "revoked" : k.expiresAt && k.expiresAt < now ? "expired" : "valid";
                return (
                  <tr key={k.id}>
                    <td className="font-medium">{k.name}</td>
                    <td className="font-mono text-xs">{k.prefix}…</td>
                    <td className="font-mono text-xs">{k.scopes}</td>
                    <td className="text-xs">{k.lastUsedAt ? format.relativeTime(k.lastUsedAt) : t("never")}</td>
                    <td>
                      <Badge tone={state === "valid" ? "active" : "revoked"}>{t(state)}</Badge>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
