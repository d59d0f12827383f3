import { getTranslations } from "next-intl/server";
import { requireStaff } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { ZAuditQuery, listAuditEvents } from "@/lib/audit/list-audit-events";
import { resolveAuditTargets } from "@/lib/audit/resolve-audit-targets";
import { AuditFilters, AuditLog, auditNames } from "@/app/_components/audit-table";
import { PageHeader } from "@/app/_components/ui";

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
  const query = ZAuditQuery.parse(await searchParams);
  const { events, nextCursor, prevCursor } = await listAuditEvents({
    db: db(),
    organizationId: null,
    query,
    names: await auditNames(),
  });
  const targets = await resolveAuditTargets({ db: db(), organizationId: null, events });
  const basePath = "/admin/audit";
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <AuditFilters basePath={basePath} filters={query} />
      <AuditLog
        basePath={basePath}
        filters={query}
        events={events}
        targets={targets}
        orgSlug={null}
        nextCursor={nextCursor}
        prevCursor={prevCursor}
        paged={Boolean(query.cursor || query.before)}
        limit={query.limit}
      />
    </>
  );
}
