"use client";
// Language and theme switchers: both are plain cookies, read on the server for the next render.
import { useRouter } from "next/navigation";
import { useLocale, useTranslations } from "next-intl";
import { useSyncExternalStore } from "react";
import { LOCALES, LOCALE_COOKIE } from "@/lib/i18n/config";
import { THEMES, THEME_COOKIE, type TTheme } from "@/app/_components/theme";

const YEAR = 60 * 60 * 24 * 365;

function setCookie(name: string, value: string) {
  document.cookie = `${name}=${value}; Path=/; Max-Age=${YEAR}; SameSite=Lax`;
}

export function LocaleSwitcher() {
  const t = useTranslations("preferences");
  const locale = useLocale();
  const router = useRouter();
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="sr-only">{t("language")}</span>
      <select
        aria-label={t("language")}
        className="rounded-md border border-zinc-300 bg-transparent px-2 py-1 text-sm dark:border-zinc-700"
        value={locale}
        onChange={(e) => {
          setCookie(LOCALE_COOKIE, e.target.value);
          router.refresh();
        }}
      >
        {LOCALES.map((l) => (
          <option key={l} value={l} className="text-zinc-900">
            {t(`locale.${l}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

// The theme lives in a cookie: read it as an external store (the server renders "system", the client
// its cookie right after hydration, without an effect that sets state).
const themeListeners = new Set<() => void>();
const subscribeTheme = (listener: () => void) => (
  themeListeners.add(listener),
  () => void themeListeners.delete(listener)
);
function themeFromCookie(): TTheme {
  const m = document.cookie.match(new RegExp(`(?:^|; )${THEME_COOKIE}=(\\w+)`));
  return m && (THEMES as readonly string[]).includes(m[1]!) ? (m[1] as TTheme) : "system";
}

export function ThemeSwitcher() {
  const t = useTranslations("preferences");
  const theme = useSyncExternalStore(subscribeTheme, themeFromCookie, () => "system" as TTheme);
  const apply = (next: TTheme) => {
    setCookie(THEME_COOKIE, next);
    for (const l of themeListeners) l();
    const dark = next === "dark" || (next === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
    document.documentElement.classList.toggle("dark", dark);
  };
  return (
    <select
      aria-label={t("theme")}
      className="rounded-md border border-zinc-300 bg-transparent px-2 py-1 text-sm dark:border-zinc-700"
      value={theme}
      onChange={(e) => apply(e.target.value as TTheme)}
    >
      {THEMES.map((th) => (
        <option key={th} value={th} className="text-zinc-900">
          {t(`themes.${th}`)}
        </option>
      ))}
    </select>
  );
}
