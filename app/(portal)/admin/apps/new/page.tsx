import { getTranslations } from "next-intl/server";
import { requireStaff } from "@/lib/auth/guards";
import { oauthProviderOptions } from "@/lib/oauth-apps/provider-options";
import { Card, PageHeader } from "@/app/_components/ui";
import { OAuthAppForm } from "@/app/_components/oauth-app-form";
import { savePlatformOAuthAppAction } from "../actions";

export default async function NewPlatformAppPage() {
  await requireStaff();
  const t = await getTranslations("appForm");
  return (
    <>
      <PageHeader title={t("newPlatformTitle")} description={t("newPlatformDescription")} />
      <Card>
        <OAuthAppForm action={savePlatformOAuthAppAction} providers={oauthProviderOptions()} />
      </Card>
    </>
  );
}
