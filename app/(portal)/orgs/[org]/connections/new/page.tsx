import { getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { roleAtLeast } from "@/lib/auth/roles";
import { db } from "@/lib/db/client";
import { listOAuthApps } from "@/lib/oauth-apps/list-oauth-apps";
import { listProviders } from "@/lib/providers/catalogue";
import { callbackUrl } from "@/lib/consent/start-consent";
import { PageHeader } from "@/app/_components/ui";
import { ConnectionWizard } from "./wizard";

export async function generateMetadata() {
  return { title: (await getTranslations("wizard"))("title") };
}

export default async function NewConnectionPage({ params }: { params: Promise<{ org: string }> }) {
  const { org, role } = await requireOrg((await params).org);
  const t = await getTranslations("wizard");
  const tp = await getTranslations("providerNames");
  const apps = await listOAuthApps({ db: db(), organizationId: org.id });
  const providers = listProviders().map((p) => ({
    id: p.id,
    name: tp.has(p.id) ? tp(p.id) : p.name,
    authKind: p.authKind,
    docsUrl: p.docsUrl ?? null,
    settings: p.settings.map((s) => ({
      key: s.key,
      type: s.type,
      required: s.required,
      options: s.options ?? null,
      default: s.default ?? null,
      example: s.example ?? null,
    })),
    defaultScopes: p.defaultScopes,
    omitScopeParam: p.omitScopeParam,
    redirectUri: callbackUrl(p.id),
  }));
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <ConnectionWizard
        org={org.slug}
        providers={providers}
        apps={apps.map((a) => ({
          id: a.id,
          name: a.name,
          providerId: a.providerId,
          ownership: a.ownership,
          clientId: a.clientId,
        }))}
        canCreateApp={roleAtLeast(role, "admin")}
      />
    </>
  );
}
