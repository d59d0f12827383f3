import { getTranslations } from "next-intl/server";
import { requireUser } from "@/lib/auth/guards";
import { env } from "@/lib/env";
import { Card, PageHeader } from "@/app/_components/ui";
import { ChangePasswordForm } from "@/app/_components/change-password-form";

export async function generateMetadata() {
  return { title: (await getTranslations("account"))("title") };
}

export default async function ChangePasswordPage() {
  const user = await requireUser();
  const t = await getTranslations("account");
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <div className="max-w-md">
        <Card>
          {user.hasPassword && env().localLogin ? (
            <ChangePasswordForm email={user.email} required={false} />
          ) : (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("noPassword")}</p>
          )}
        </Card>
      </div>
    </>
  );
}
