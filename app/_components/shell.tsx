"use client";
// The portal frame: sidebar (organization switcher, navigation), top bar, mobile drawer.
import Link from "next/link";
import { useParams, usePathname, useRouter } from "next/navigation";
import { useTranslations } from "next-intl";
import { useState } from "react";
import { LocaleSwitcher, ThemeSwitcher } from "@/app/_components/preferences";
import { signOutAction } from "@/app/_components/sign-out-action";

type Org = { slug: string; name: string; member: boolean };
/** `changePassword`: a local account, offered the change-password page */
type User = { email: string; name: string | null; isStaff: boolean; changePassword?: boolean };

const ORG_NAV = [
  { key: "overview", path: "" },
  { key: "connections", path: "/connections" },
  { key: "apps", path: "/apps" },
  { key: "apiKeys", path: "/api-keys" },
  { key: "apiReference", path: "/api" },
  { key: "webhooks", path: "/webhooks" },
  { key: "audit", path: "/audit" },
  { key: "settings", path: "/settings" },
] as const;

function NavItem({ href, active, children }: { href: string; active: boolean; children: React.ReactNode }) {
  return (
    <Link
      href={href}
      aria-current={active ? "page" : undefined}
      className={`block rounded-md px-3 py-2 text-sm font-medium ${active ? "bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-200" : "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"}`}
    >
      {children}
    </Link>
  );
}

function OrgSwitcher({ orgs, current }: { orgs: Org[]; current?: string }) {
  const t = useTranslations("shell");
  const router = useRouter();
  if (orgs.length === 0) return null;
  return (
    <div>
      <label
        htmlFor="org-switcher"
        className="mb-1 block px-1 text-xs font-semibold uppercase tracking-wide text-zinc-500"
      >
        {t("organization")}
      </label>
      <select
        id="org-switcher"
        className="input"
        value={current ?? ""}
        onChange={(e) => e.target.value && router.push(`/orgs/${e.target.value}`)}
      >
        {!current ? <option value="">{t("chooseOrganization")}</option> : null}
        {orgs.map((o) => (
          <option key={o.slug} value={o.slug}>
            {o.name}
          </option>
        ))}
      </select>
    </div>
  );
}

function Brand() {
  return (
    <Link href="/" className="flex items-center gap-2 px-1 text-lg font-semibold tracking-tight">
      <span aria-hidden className="flex h-7 w-7 items-center justify-center rounded-lg bg-indigo-600 text-white">
        <svg viewBox="0 0 32 32" className="h-4 w-4">
          <path
            d="M9 17.5l4.5 4.5L23 11"
            fill="none"
            stroke="currentColor"
            strokeWidth="3.5"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
      </span>
      Consentry
    </Link>
  );
}

/** The organization's pages, or the way to the organizations when none is open. */
function OrgNav({ org, pathname }: { org: string | undefined; pathname: string }) {
  const tn = useTranslations("nav");
  if (!org) {
    return (
      <ul className="space-y-1">
        <li>
          <NavItem href="/orgs" active={pathname === "/orgs"}>
            {tn("organizations")}
          </NavItem>
        </li>
      </ul>
    );
  }
  const base = `/orgs/${org}`;
  return (
    <ul className="space-y-1">
      {ORG_NAV.map((item) => {
        const href = `${base}${item.path}`;
        const active = item.path === "" ? pathname === base : pathname === href || pathname.startsWith(`${href}/`);
        return (
          <li key={item.key}>
            <NavItem href={href} active={active}>
              {tn(item.key)}
            </NavItem>
          </li>
        );
      })}
    </ul>
  );
}

const STAFF_NAV = [
  { href: "/admin/organizations", key: "allOrganizations" },
  { href: "/admin/apps", key: "platformApps" },
  { href: "/admin/audit", key: "installationAudit" },
] as const;

function StaffNav({ pathname }: { pathname: string }) {
  const t = useTranslations("shell");
  const tn = useTranslations("nav");
  return (
    <div>
      <p className="mb-1 px-3 text-xs font-semibold uppercase tracking-wide text-zinc-500">{t("staff")}</p>
      <ul className="space-y-1">
        {STAFF_NAV.map((item) => (
          <li key={item.href}>
            <NavItem href={item.href} active={pathname.startsWith(item.href)}>
              {tn(item.key)}
            </NavItem>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Who is signed in, their language and theme, and the way out. */
function AccountPanel({ user }: { user: User }) {
  const t = useTranslations("shell");
  return (
    <div className="mt-auto space-y-3 border-t border-zinc-200 pt-4 dark:border-zinc-800">
      <div className="px-1 text-sm">
        {/* a person's name, never machine-translated */}
        <p className="truncate font-medium" title={user.email} translate="no">
          {user.name ?? user.email}
        </p>
        {user.name ? <p className="truncate text-xs text-zinc-500">{user.email}</p> : null}
      </div>
      <div className="flex flex-wrap gap-2 px-1">
        <LocaleSwitcher />
        <ThemeSwitcher />
      </div>
      {user.changePassword ? (
        <Link
          href="/account/password"
          className="block px-1 text-sm text-indigo-700 hover:underline dark:text-indigo-300"
        >
          {t("changePassword")}
        </Link>
      ) : null}
      <form action={signOutAction}>
        <button type="submit" className="btn-secondary w-full">
          {t("signOut")}
        </button>
      </form>
    </div>
  );
}

function Sidebar({
  user,
  orgs,
  org,
  pathname,
}: {
  user: User;
  orgs: Org[];
  org: string | undefined;
  pathname: string;
}) {
  const t = useTranslations("shell");
  return (
    <nav aria-label={t("mainNavigation")} className="flex h-full flex-col gap-6 p-4">
      <Brand />
      <OrgSwitcher orgs={orgs} current={org} />
      <OrgNav org={org} pathname={pathname} />
      {user.isStaff ? <StaffNav pathname={pathname} /> : null}
      <AccountPanel user={user} />
    </nav>
  );
}

export function Shell({ user, orgs, children }: { user: User; orgs: Org[]; children: React.ReactNode }) {
  const t = useTranslations("shell");
  const org = useParams<{ org?: string }>().org;
  const pathname = usePathname();
  const [open, setOpen] = useState(false);
  // the mobile menu closes on navigation (adjusted while rendering, not in an effect)
  const [menuPath, setMenuPath] = useState(pathname);
  if (pathname !== menuPath) {
    setMenuPath(pathname);
    setOpen(false);
  }
  const sidebar = <Sidebar user={user} orgs={orgs} org={org} pathname={pathname} />;

  return (
    <div className="min-h-screen lg:flex">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-zinc-900"
      >
        {t("skipToContent")}
      </a>
      <aside className="hidden w-64 shrink-0 border-r border-zinc-200 bg-white lg:block dark:border-zinc-800 dark:bg-zinc-900">
        <div className="sticky top-0 h-screen overflow-y-auto">{sidebar}</div>
      </aside>
      <div className="flex items-center justify-between border-b border-zinc-200 bg-white px-4 py-3 lg:hidden dark:border-zinc-800 dark:bg-zinc-900">
        <span className="font-semibold">Consentry</span>
        <button
          type="button"
          className="btn-secondary"
          aria-expanded={open}
          aria-controls="mobile-nav"
          onClick={() => setOpen((v) => !v)}
        >
          {open ? t("closeMenu") : t("menu")}
        </button>
      </div>
      {open ? (
        <div
          id="mobile-nav"
          className="border-b border-zinc-200 bg-white lg:hidden dark:border-zinc-800 dark:bg-zinc-900"
        >
          {sidebar}
        </div>
      ) : null}
      <main id="main" className="min-w-0 flex-1 px-4 py-8 sm:px-8">
        <div className="mx-auto max-w-6xl">{children}</div>
      </main>
    </div>
  );
}
