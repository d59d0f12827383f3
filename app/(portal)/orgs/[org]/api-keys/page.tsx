import { getFormatter, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { listApiKeys } from "@/lib/api-keys/list-api-keys";
import Link from "next/link";
import { Badge, Card, EmptyState, PageHeader } from "@/app/_components/ui";
import { API_SCOPES } from "@/lib/api-keys/create-api-key";
import { CreateApiKeyForm, RevokeApiKeyButton } from "./api-key-forms";

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
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          <Link href={`/orgs/${org.slug}/api`} className="btn-secondary">
            {t("reference")}
          </Link>
        }
      />
      <div className="grid gap-6 lg:grid-cols-[1fr_22rem]">
        <div>
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
                    <th scope="col">
                      <span className="sr-only">{t("revoke")}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {keys.map((k) => {
                    const state = k.revokedAt ? "revoked" : k.expiresAt && k.expiresAt < now ? "expired" : "valid";
                    return (
                      <tr key={k.id} id={`api-key-${k.id}`}>
                        <td className="font-medium">{k.name}</td>
                        <td className="font-mono text-xs">{k.prefix}…</td>
                        <td className="font-mono text-xs">{k.scopes}</td>
                        <td className="text-xs">{k.lastUsedAt ? format.relativeTime(k.lastUsedAt) : t("never")}</td>
                        <td>
                          <Badge tone={state === "valid" ? "active" : "revoked"}>{t(state)}</Badge>
                        </td>
                        <td className="text-right">
                          {state === "valid" ? <RevokeApiKeyButton org={org.slug} apiKeyId={k.id} /> : null}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <Card title={t("createTitle")}>
          <CreateApiKeyForm org={org.slug} scopes={API_SCOPES} />
        </Card>
      </div>
    </>
  );
}
