// Staff only: background work of the whole installation is overdue (lib/background/check-background.ts).
// Counts and ages only; rendered on every portal page by the portal layout while it lasts.
import { getTranslations } from "next-intl/server";
import { db } from "@/lib/db/client";
import { checkBackground } from "@/lib/background/check-background";

const minutes = (seconds: number | null) => Math.max(1, Math.round((seconds ?? 0) / 60));

export async function BackgroundBanner() {
  // a database that cannot be read shows in the page itself; the banner only speaks of overdue work
  const a = await checkBackground({ db: db() }).catch(() => null);
  if (!a || a.status === "ok") return null;
  const t = await getTranslations("backgroundBanner");
  const lines = a.reasons.map((reason) => {
    if (reason === "scheduler_not_running")
      return a.scheduler.lastRunAgeSeconds === null
        ? t("scheduler_never_ran")
        : t("scheduler_not_running", { minutes: minutes(a.scheduler.lastRunAgeSeconds) });
    if (reason === "refresh_overdue")
      return t("refresh_overdue", { count: a.refresh.due, minutes: minutes(a.refresh.oldestOverdueSeconds) });
    return t("webhooks_overdue", { count: a.webhooks.due, minutes: minutes(a.webhooks.oldestDueSeconds) });
  });
  return (
    <section
      aria-labelledby="background-banner-title"
      className="mb-6 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
    >
      <h2 id="background-banner-title" className="font-semibold">
        {t("title")}
      </h2>
      <ul className="mt-1 list-disc space-y-1 pl-5">
        {lines.map((line, i) => (
          <li key={a.reasons[i]}>{line}</li>
        ))}
      </ul>
      <p className="mt-2 text-xs opacity-80">{t("details")}</p>
    </section>
  );
}
