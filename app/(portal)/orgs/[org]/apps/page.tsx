import Link from "next/link";
import { getTranslations } from "next-intl/server";
import { roleAtLeast } from "@/lib/auth/roles";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { listOAuthApps } from "@/lib/oauth-apps/list-oauth-apps";
import { Badge, EmptyState, PageHeader } from "@/app/_components/ui";

export async function generateMetadata() {
  return { title: (await getTranslations("apps"))("title") };
}

export default async function AppsPage({ params }: { params: Promise<{ org: string }> }) {
  const t = await getTranslations("apps");
  const tp = await getTranslations("providerNames");
  const { org, role } = await requireOrg((await params).org);
  const canManage = roleAtLeast(role, "admin");
  const newButton = canManage ? (
    <Link href={`/orgs/${org.slug}/apps/new`} className="btn-primary">
      {t("new")}
    </Link>
  ) : null;
  const apps = await listOAuthApps({ db: db(), organizationId: org.id });
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} actions={newButton} />
      {apps.length === 0 ? (
        <EmptyState title={t("emptyTitle")} body={t("emptyBody")} action={newButton} />
      ) : (
        <div className="card overflow-x-auto">
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">{t("name")}</th>
                <th scope="col">{t("provider")}</th>
                <th scope="col">{t("clientId")}</th>
                <th scope="col">{t("owner")}</th>
                <th scope="col">{t("credentials")}</th>
              </tr>
            </thead>
            <tbody>
              {apps.map((a) => (
                <tr key={a.id}>
                  <td className="font-medium">
                    {a.ownership === "custom" && canManage ? (
                      <Link
                        href={`/orgs/${org.slug}/apps/${a.id}`}
                        className="text-indigo-600 hover:underline dark:text-indigo-400"
                      >
                        {a.name}
                      </Link>
                    ) : (
                      a.name
                    )}
                  </td>
                  <td className="text-xs" title={a.providerId}>
                    {tp.has(a.providerId) ? tp(a.providerId) : a.providerId}
                  </td>
                  <td className="font-mono text-xs">{a.clientId}</td>
                  <td>
                    <Badge tone={a.ownership === "embedded" ? "pending_consent" : "active"}>{t(a.ownership)}</Badge>
                  </td>
                  <td className="text-xs">
                    {a.clientSecretSet ? t("secretSet") : t("noSecret")}
                    {a.certificateThumbprint ? (
                      <p className="font-mono text-zinc-500">x5t {a.certificateThumbprint}</p>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
