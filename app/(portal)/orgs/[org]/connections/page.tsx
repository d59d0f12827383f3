import Link from "next/link";
import { getFormatter, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { listConnections } from "@/lib/connections/list-connections";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { Badge, EmptyState, PageHeader } from "@/app/_components/ui";
import { roleAtLeast } from "@/lib/auth/roles";

export async function generateMetadata() {
  return { title: (await getTranslations("connections"))("title") };
}

const DELETED_NOTICES = {
  revoked: "deletedRevoked",
  unsupported: "deletedUnsupported",
  failed: "deletedFailed",
  already: "deletedAlready",
} as const;

export default async function ConnectionsPage({
  params,
  searchParams,
}: {
  params: Promise<{ org: string }>;
  searchParams: Promise<{ deleted?: string; revocation?: string; after?: string }>;
}) {
  const { org, role } = await requireOrg((await params).org);
  const sp = await searchParams;
  const deletedNotice =
    typeof sp.deleted === "string" && sp.deleted.length <= 100
      ? DELETED_NOTICES[(sp.revocation ?? "already") as keyof typeof DELETED_NOTICES]
      : undefined;
  const t = await getTranslations("connections");
  const ts = await getTranslations("status");
  const te = await getTranslations("lastErrors");
  const tp = await getTranslations("providerNames");
  const format = await getFormatter();
  const { rows, nextCursor, paged } = await listConnections({
    db: db(),
    organizationId: org.id,
    cursor: typeof sp.after === "string" ? sp.after : undefined,
  });
  return (
    <>
      <PageHeader
        title={t("title")}
        description={t("description")}
        actions={
          <>
            {roleAtLeast(role, "admin") ? (
              <Link href={`/orgs/${org.slug}/connections/import`} className="btn-secondary">
                {t("import")}
              </Link>
            ) : null}
            <Link href={`/orgs/${org.slug}/connections/new`} className="btn-primary">
              {t("new")}
            </Link>
          </>
        }
      />
      {deletedNotice ? (
        <p
          role="status"
          data-testid="deleted-notice"
          className="mb-4 rounded-md bg-emerald-50 px-4 py-3 text-sm break-words text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200"
        >
          {t(deletedNotice, { name: sp.deleted! })}
        </p>
      ) : null}
      {rows.length === 0 ? (
        <EmptyState
          title={t("emptyTitle")}
          body={t("emptyBody")}
          action={
            <Link href={`/orgs/${org.slug}/connections/new`} className="btn-primary">
              {t("createFirst")}
            </Link>
          }
        />
      ) : (
        <div className="card overflow-x-auto">
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">{t("name")}</th>
                <th scope="col">{t("provider")}</th>
                <th scope="col">{t("status")}</th>
                <th scope="col">{t("account")}</th>
                <th scope="col">{t("expires")}</th>
                <th scope="col">{t("refreshTokenExpires")}</th>
                <th scope="col">{t("lastRefresh")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.id}>
                  <td className="font-medium">
                    <Link
                      href={`/orgs/${org.slug}/connections/${c.id}`}
                      className="text-indigo-600 hover:underline dark:text-indigo-400"
                    >
                      {c.name}
                    </Link>
                  </td>
                  <td className="text-xs" title={c.providerId}>
                    {tp.has(c.providerId) ? tp(c.providerId) : (PROVIDERS.get(c.providerId)?.name ?? c.providerId)}
                  </td>
                  <td>
                    <Badge tone={c.status}>{ts(c.status)}</Badge>
                    {c.lastErrorCode && c.status !== "active" ? (
                      <p className="mt-1 text-xs text-red-600 dark:text-red-400">
                        {te.has(c.lastErrorCode) ? te(c.lastErrorCode) : c.lastErrorCode}
                      </p>
                    ) : null}
                  </td>
                  <td className="text-xs">
                    {c.accountName ?? c.accountEmail ?? "—"}
                    {c.externalTenantId ? (
                      <p className="font-mono text-zinc-500">{t("tenant", { id: c.externalTenantId })}</p>
                    ) : null}
                  </td>
                  <td className="text-xs">
                    {c.expiresAt && c.status !== "revoked" ? format.relativeTime(c.expiresAt) : "—"}
                  </td>
                  <td className="text-xs">
                    {c.refreshTokenExpiresAt ? format.relativeTime(c.refreshTokenExpiresAt) : "—"}
                  </td>
                  <td className="text-xs">
                    {c.lastRefreshedAt ? format.relativeTime(c.lastRefreshedAt) : "—"}
                    {c.refreshAttempts > 0 ? (
                      <p className="text-amber-600">{t("attempts", { n: c.refreshAttempts })}</p>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor || paged ? (
        <nav aria-label={t("pages")} className="mt-4 flex justify-between text-sm">
          {paged ? (
            <Link href={`/orgs/${org.slug}/connections`} className="btn-secondary">
              {t("firstPage")}
            </Link>
          ) : (
            <span />
          )}
          {nextCursor ? (
            <Link href={`/orgs/${org.slug}/connections?after=${nextCursor}`} className="btn-secondary" rel="next">
              {t("nextPage")}
            </Link>
          ) : null}
        </nav>
      ) : null}
    </>
  );
}
