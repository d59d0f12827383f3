import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { getTranslations } from "next-intl/server";
import { currentUser } from "@/lib/auth/guards";
import { env } from "@/lib/env";
import { safeReturnTo } from "@/lib/http/safe-return-to";
import { LocaleSwitcher, ThemeSwitcher } from "@/app/_components/preferences";
import { SignInForm } from "./sign-in-form";
import { signInWithOidc } from "./actions";

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslations("signIn"))("title") };
}

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ callbackUrl?: string; returnTo?: string; error?: string }>;
}) {
  const sp = await searchParams;
  const returnTo = safeReturnTo(sp.returnTo ?? sp.callbackUrl);
  if (await currentUser()) redirect(returnTo);
  const t = await getTranslations("signIn");
  const e = env();
  return (
    <main className="flex min-h-screen flex-col items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 text-center">
          <div className="mx-auto mb-3 flex h-11 w-11 items-center justify-center rounded-xl bg-indigo-600 text-white shadow">
            <svg viewBox="0 0 32 32" className="h-6 w-6" aria-hidden>
              <path
                d="M9 17.5l4.5 4.5L23 11"
                fill="none"
                stroke="currentColor"
                strokeWidth="3.2"
                strokeLinecap="round"
                strokeLinejoin="round"
              />
            </svg>
          </div>
          <h1 className="text-2xl font-semibold tracking-tight">{t("title")}</h1>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{t("subtitle")}</p>
        </div>
        <div className="card space-y-6 p-6">
          {sp.error ? (
            <p
              role="alert"
              className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200"
            >
              {t("providerError")}
            </p>
          ) : null}
          {e.oidc ? (
            <form action={signInWithOidc}>
              <input type="hidden" name="returnTo" value={returnTo} />
              <button type="submit" className="btn-secondary w-full">
                {t("withProvider", { provider: e.oidc.displayName })}
              </button>
            </form>
          ) : null}
          {e.oidc && e.localLogin ? (
            <div className="text-center text-xs uppercase tracking-wide text-zinc-400">{t("or")}</div>
          ) : null}
          {e.localLogin ? <SignInForm returnTo={returnTo} /> : null}
          {!e.oidc && !e.localLogin ? (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("noMethod")}</p>
          ) : null}
          {e.localLogin && e.embedded ? (
            <p className="text-xs text-zinc-500 dark:text-zinc-400">{t("firstTimeHint")}</p>
          ) : null}
        </div>
        <div className="mt-6 flex justify-center gap-3">
          <LocaleSwitcher />
          <ThemeSwitcher />
        </div>
      </div>
    </main>
  );
}
