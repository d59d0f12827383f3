// Import a connection from an encrypted export file (lib/connections/import-connection.ts).
import Link from "next/link";
import { getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { listOAuthApps } from "@/lib/oauth-apps/list-oauth-apps";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { PageHeader } from "@/app/_components/ui";
import { ImportForm } from "./import-form";

export async function generateMetadata() {
  return { title: (await getTranslations("connectionImport"))("title") };
}

export default async function ImportConnectionPage({ params }: { params: Promise<{ org: string }> }) {
  const { org } = await requireOrg((await params).org, "admin");
  const t = await getTranslations("connectionImport");
  const tp = await getTranslations("providerNames");
  const apps = await listOAuthApps({ db: db(), organizationId: org.id });
  return (
    <>
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          <Link href={`/orgs/${org.slug}/connections`} className="btn-secondary">
            {t("back")}
          </Link>
        }
      />
      <div className="max-w-2xl">
        <ImportForm
          org={org.slug}
          apps={apps.map((a) => ({
            id: a.id,
            name: a.name,
            providerName: tp.has(a.providerId) ? tp(a.providerId) : (PROVIDERS.get(a.providerId)?.name ?? a.providerId),
            clientId: a.clientId,
            owner: a.ownership === "custom" ? "organization" : "platform",
          }))}
        />
      </div>
    </>
  );
}
