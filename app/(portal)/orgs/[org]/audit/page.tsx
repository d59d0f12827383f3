import { getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { ZAuditQuery, listAuditEvents } from "@/lib/audit/list-audit-events";
import { resolveAuditTargets } from "@/lib/audit/resolve-audit-targets";
import { AuditFilters, AuditLog, auditNames } from "@/app/_components/audit-table";
import { PageHeader } from "@/app/_components/ui";

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
  const query = ZAuditQuery.parse(await searchParams);
  const { events, nextCursor, prevCursor } = await listAuditEvents({
    db: db(),
    organizationId: org.id,
    query,
    names: await auditNames(),
  });
  const targets = await resolveAuditTargets({ db: db(), organizationId: org.id, events });
  const basePath = `/orgs/${org.slug}/audit`;
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <AuditFilters basePath={basePath} filters={query} />
      <AuditLog
        basePath={basePath}
        filters={query}
        events={events}
        targets={targets}
        orgSlug={org.slug}
        nextCursor={nextCursor}
        prevCursor={prevCursor}
        paged={Boolean(query.cursor || query.before)}
        limit={query.limit}
      />
    </>
  );
}
