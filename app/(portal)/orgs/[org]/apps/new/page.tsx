import { getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { oauthProviderOptions } from "@/lib/oauth-apps/provider-options";
import { Card, PageHeader } from "@/app/_components/ui";
import { OAuthAppForm } from "@/app/_components/oauth-app-form";
import { saveOrgOAuthAppAction } from "../actions";

export default async function NewOrgAppPage({ params }: { params: Promise<{ org: string }> }) {
  const { org } = await requireOrg((await params).org, "admin");
  const t = await getTranslations("appForm");
  return (
    <>
      <PageHeader title={t("newTitle")} description={t("newOrgDescription")} />
      <Card>
        <OAuthAppForm action={saveOrgOAuthAppAction} providers={oauthProviderOptions()} org={org.slug} />
      </Card>
    </>
  );
}
