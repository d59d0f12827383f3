import Link from "next/link";
import { getFormatter, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { ZAuditQuery, listAuditEvents } from "@/lib/audit/list-audit-events";
import { AuditTable } from "@/app/_components/audit-table";
import { EmptyState, PageHeader } from "@/app/_components/ui";

export async function generateMetadata() {
  return { title: (await getTranslations("audit"))("title") };
}

export default async function AuditPage({
  params,
  searchParams,
}: {
  params: Promise<{ org: string }>;
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  const { org } = await requireOrg((await params).org, "admin");
  const t = await getTranslations("audit");
  const parsed = ZAuditQuery.safeParse(await searchParams);
  const query = parsed.success ? parsed.data : ZAuditQuery.parse({});
  const { events, nextCursor } = await listAuditEvents({ db: db(), organizationId: org.id, query });
  const format = await getFormatter();
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <form className="mb-4 flex max-w-md gap-2" role="search">
        <label htmlFor="audit-action" className="sr-only">
          {t("filter")}
        </label>
        <input
          id="audit-action"
          name="action"
          defaultValue={query.action ?? ""}
          placeholder={t("filterPlaceholder")}
          className="input"
        />
        <button type="submit" className="btn-secondary">
          {t("apply")}
        </button>
      </form>
      {events.length === 0 ? (
        <EmptyState title={t("emptyTitle")} body={t("emptyBody")} />
      ) : (
        <>
          <AuditTable
            events={events.map((e) => ({
              ...e,
              when: format.dateTime(e.createdAt, { dateStyle: "medium", timeStyle: "medium" }),
              iso: e.createdAt.toISOString(),
            }))}
          />
          {nextCursor ? (
            <div className="mt-4">
              <Link
                className="btn-secondary"
                href={`?${new URLSearchParams({ ...(query.action ? { action: query.action } : {}), cursor: nextCursor })}`}
              >
                {t("older")}
              </Link>
            </div>
          ) : null}
        </>
      )}
    </>
  );
}
