import Link from "next/link";
import { getTranslations } from "next-intl/server";
import { requireStaff } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { EmptyState, PageHeader } from "@/app/_components/ui";

export async function generateMetadata() {
  return { title: (await getTranslations("adminApps"))("title") };
}

export default async function PlatformAppsPage() {
  await requireStaff();
  const t = await getTranslations("adminApps");
  const tp = await getTranslations("providerNames");
  const apps = await db().oAuthApp.findMany({
    where: { organizationId: null },
    select: {
      id: true,
      name: true,
      providerId: true,
      clientId: true,
      clientSecretEnc: true,
      certificateThumbprint: true,
      alertCode: true,
    },
    orderBy: { name: "asc" },
  });
  const action = (
    <Link href="/admin/apps/new" className="btn-primary">
      {t("new")}
    </Link>
  );
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} actions={action} />
      {apps.length === 0 ? (
        <EmptyState title={t("emptyTitle")} body={t("emptyBody")} action={action} />
      ) : (
        <div className="card overflow-x-auto">
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">{t("name")}</th>
                <th scope="col">{t("provider")}</th>
                <th scope="col">{t("clientId")}</th>
                <th scope="col">{t("credentials")}</th>
              </tr>
            </thead>
            <tbody>
              {apps.map((a) => (
                <tr key={a.id}>
                  <td>
                    <Link
                      href={`/admin/apps/${a.id}`}
                      className="font-medium text-indigo-600 hover:underline dark:text-indigo-400"
                    >
                      {a.name}
                    </Link>
                    {a.alertCode ? <p className="text-xs text-red-600">{t("alert", { code: a.alertCode })}</p> : null}
                  </td>
                  <td className="text-xs" title={a.providerId}>
                    {tp.has(a.providerId) ? tp(a.providerId) : a.providerId}
                  </td>
                  <td className="font-mono text-xs">{a.clientId}</td>
                  <td className="text-xs">
                    {[a.clientSecretEnc ? t("secret") : null, a.certificateThumbprint ? t("certificate") : null]
                      .filter(Boolean)
                      .join(" + ") || "—"}
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
