import { notFound } from "next/navigation";
import { getTranslations } from "next-intl/server";
import { requireStaff } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { getOAuthApp } from "@/lib/oauth-apps/get-oauth-app";
import { oauthProviderOptions } from "@/lib/oauth-apps/provider-options";
import { callbackUrl } from "@/lib/consent/start-consent";
import { Card, PageHeader } from "@/app/_components/ui";
import { OAuthAppForm } from "@/app/_components/oauth-app-form";
import { OAuthAppDetails } from "@/app/_components/oauth-app-details";
import { savePlatformOAuthAppAction } from "../actions";

export default async function PlatformAppPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<{ saved?: string }>;
}) {
  await requireStaff();
  const app = await getOAuthApp({ db: db(), appId: (await params).id, organizationId: null });
  if (!app) notFound();
  const t = await getTranslations("appForm");
  const saved = (await searchParams).saved === "1";
  return (
    <>
      <PageHeader title={app.name} description={t("editPlatformDescription")} />
      {saved ? (
        <p
          role="status"
          className="mb-4 rounded-md bg-emerald-50 px-4 py-3 text-sm text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200"
        >
          {t("saved")}
        </p>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-2">
        <OAuthAppDetails app={app} redirectUri={callbackUrl(app.providerId)} />
        <Card title={t("editTitle")}>
          <OAuthAppForm
            action={savePlatformOAuthAppAction}
            providers={oauthProviderOptions()}
            existing={{ ...app, hasCertificate: Boolean(app.certificate) }}
          />
        </Card>
      </div>
    </>
  );
}
