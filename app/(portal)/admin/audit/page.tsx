import Link from "next/link";
import { getFormatter, getTranslations } from "next-intl/server";
import { requireStaff } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { ZAuditQuery, listAuditEvents } from "@/lib/audit/list-audit-events";
import { AuditTable } from "@/app/_components/audit-table";
import { EmptyState, PageHeader } from "@/app/_components/ui";

export async function generateMetadata() {
  return { title: (await getTranslations("adminAudit"))("title") };
}

/** Installation-wide events (sign-ins, staff changes, key rotation, refused callbacks): organization-less rows. */
export default async function AdminAuditPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  await requireStaff();
  const t = await getTranslations("adminAudit");
  const ta = await getTranslations("audit");
  const parsed = ZAuditQuery.safeParse(await searchParams);
  const query = parsed.success ? parsed.data : ZAuditQuery.parse({});
  const { events, nextCursor } = await listAuditEvents({ db: db(), organizationId: null, query });
  const format = await getFormatter();
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      {events.length === 0 ? (
        <EmptyState title={ta("emptyTitle")} body={ta("emptyBody")} />
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
                {ta("older")}
              </Link>
            </div>
          ) : null}
        </>
      )}
    </>
  );
}
