import Link from "next/link";
import { getTranslations } from "next-intl/server";

export default async function NotFound() {
  const t = await getTranslations("notFound");
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center px-4 text-center">
      <p className="text-sm font-semibold text-indigo-600">404</p>
      <h1 className="mt-2 text-2xl font-semibold">{t("title")}</h1>
      <p className="mt-2 max-w-md text-sm text-zinc-600 dark:text-zinc-400">{t("body")}</p>
      <Link href="/" className="btn-primary mt-6">
        {t("home")}
      </Link>
    </main>
  );
}
