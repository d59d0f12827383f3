// After a sign-in with a password someone else chose (an admin added the person, or the CLI set it):
// the only page open to them until they choose their own (lib/auth/guards.ts requireUser).
import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { getTranslations } from "next-intl/server";
import { requireUser } from "@/lib/auth/guards";
import { LocaleSwitcher, ThemeSwitcher } from "@/app/_components/preferences";
import { signOutAction } from "@/app/_components/sign-out-action";
import { ChangePasswordForm } from "@/app/_components/change-password-form";

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations("account"))("chooseTitle") };
}

export default async function ChoosePasswordPage() {
  const user = await requireUser({ choosingPassword: true });
  if (!user.mustChangePassword) redirect("/");
  const t = await getTranslations("account");
  return (
    <main className="flex min-h-screen flex-col items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 text-center">
          <h1 className="text-2xl font-semibold tracking-tight">{t("chooseTitle")}</h1>
          <p className="mt-1 break-words text-sm text-zinc-600 dark:text-zinc-400">{t("chooseIntro")}</p>
          <p className="mt-2 break-all text-sm font-medium">{user.email}</p>
        </div>
        <div className="card space-y-6 p-6">
          <ChangePasswordForm email={user.email} required />
        </div>
        <form action={signOutAction} className="mt-4 text-center">
          <button type="submit" className="btn-secondary">
            {t("signOut")}
          </button>
        </form>
        <div className="mt-6 flex justify-center gap-3">
          <LocaleSwitcher />
          <ThemeSwitcher />
        </div>
      </div>
    </main>
  );
}
