import Link from "next/link";
import { getTranslations } from "next-intl/server";
import { requireUser } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { listUserOrganizations } from "@/lib/organizations/list-user-organizations";
import { EmptyState, PageHeader } from "@/app/_components/ui";

export async function generateMetadata() {
  return { title: (await getTranslations("orgs"))("title") };
}

export default async function OrganizationsPage() {
  const user = await requireUser();
  const t = await getTranslations("orgs");
  const orgs = await listUserOrganizations({ db: db(), userId: user.id, isStaff: user.isStaff });
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      {orgs.length === 0 ? (
        <EmptyState
          title={t("emptyTitle")}
          body={user.isStaff ? t("emptyStaff") : t("emptyMember")}
          action={
            user.isStaff ? (
              <Link href="/admin/organizations" className="btn-primary">
                {t("createFirst")}
              </Link>
            ) : null
          }
        />
      ) : (
        <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          {orgs.map((o) => (
            <li key={o.slug}>
              <Link href={`/orgs/${o.slug}`} className="card block p-5 hover:border-indigo-400">
                <p className="font-semibold">{o.name}</p>
                <p className="mt-1 font-mono text-xs text-zinc-500">{o.slug}</p>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
