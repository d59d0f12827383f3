export const THEME_COOKIE = "consentry-theme";
export const THEMES = ["system", "light", "dark"] as const;
export type TTheme = (typeof THEMES)[number];

/** Runs before paint: applies the chosen theme, or the system's, without a flash. */
export const themeScript = `(function(){try{var m=document.cookie.match(/(?:^|; )${THEME_COOKIE}=(\\w+)/);var t=m?m[1]:"system";var d=t==="dark"||(t==="system"&&matchMedia("(prefers-color-scheme: dark)").matches);document.documentElement.classList.toggle("dark",d)}catch(e){}})()`;
