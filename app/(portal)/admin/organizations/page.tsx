import Link from "next/link";
import { getFormatter, getTranslations } from "next-intl/server";
import { requireStaff } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { listAllOrganizations } from "@/lib/organizations/list-all-organizations";
import { Card, EmptyState, PageHeader } from "@/app/_components/ui";
import { CreateOrganizationForm } from "./create-organization-form";

export async function generateMetadata() {
  return { title: (await getTranslations("admin"))("title") };
}

export default async function AdminOrganizationsPage() {
  await requireStaff();
  const t = await getTranslations("admin");
  const format = await getFormatter();
  const orgs = await listAllOrganizations({ db: db() });
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <div className="grid gap-6 lg:grid-cols-[1fr_22rem]">
        <div>
          {orgs.length === 0 ? (
            <EmptyState title={t("emptyTitle")} body={t("emptyBody")} />
          ) : (
            <div className="card overflow-x-auto">
              <table className="data-table">
                <thead>
                  <tr>
                    <th scope="col">{t("name")}</th>
                    <th scope="col">{t("members")}</th>
                    <th scope="col">{t("connections")}</th>
                    <th scope="col">{t("created")}</th>
                  </tr>
                </thead>
                <tbody>
                  {orgs.map((o) => (
                    <tr key={o.id}>
                      <td>
                        <Link
                          href={`/orgs/${o.slug}`}
                          className="font-medium text-indigo-600 hover:underline dark:text-indigo-400"
                        >
                          {o.name}
                        </Link>
                        <p className="font-mono text-xs text-zinc-500">{o.slug}</p>
                      </td>
                      <td className="tabular-nums">{o._count.memberships}</td>
                      <td className="tabular-nums">{o._count.connections}</td>
                      <td className="text-xs">{format.dateTime(o.createdAt, { dateStyle: "medium" })}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <Card title={t("create")}>
          <CreateOrganizationForm />
        </Card>
      </div>
    </>
  );
}
