// A connection's latest events (lib/audit/list-connection-activity.ts), newest first, read like the audit log.
import { getFormatter, getTranslations } from "next-intl/server";
import { db } from "@/lib/db/client";
import { listConnectionActivity } from "@/lib/audit/list-connection-activity";
import { AuditDetails, actionName, actorName } from "@/app/_components/audit-table";
import { Badge, Card, TextLink } from "@/app/_components/ui";

export async function ConnectionActivity({
  organizationId,
  orgSlug,
  connectionId,
}: {
  organizationId: string;
  orgSlug: string;
  connectionId: string;
}) {
  const t = await getTranslations("audit");
  const ts = await getTranslations("status");
  const format = await getFormatter();
  const events = await listConnectionActivity({ db: db(), organizationId, connectionId });
  return (
    <Card
      title={t("timelineTitle")}
      footer={
        <TextLink href={`/orgs/${orgSlug}/audit?target=${encodeURIComponent(connectionId)}`}>
          {t("timelineAll")}
        </TextLink>
      }
    >
      {events.length === 0 ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("timelineEmpty")}</p>
      ) : (
        <ol
          className="relative space-y-4 border-l border-zinc-200 pl-4 dark:border-zinc-700"
          data-testid="connection-activity"
        >
          {events.map((e) => {
            const actor = actorName(t, e);
            return (
              <li key={e.id} className="text-sm">
                <span
                  aria-hidden
                  className="absolute -left-1 mt-1.5 h-2 w-2 rounded-full bg-zinc-400 dark:bg-zinc-500"
                />
                <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
                  <span className="font-medium" title={e.action}>
                    {actionName(t, e.action)}
                  </span>
                  <Badge tone={e.outcome}>
                    {ts.has(`outcome.${e.outcome}`) ? ts(`outcome.${e.outcome}`) : e.outcome}
                  </Badge>
                  <time
                    dateTime={e.createdAt.toISOString()}
                    title={format.dateTime(e.createdAt, { dateStyle: "medium", timeStyle: "medium" })}
                    className="text-xs text-zinc-600 dark:text-zinc-400"
                  >
                    {format.relativeTime(e.createdAt)}
                  </time>
                </div>
                <p className="text-xs wrap-anywhere text-zinc-600 dark:text-zinc-400">
                  {actor.label ?? "—"} ({actor.type})
                </p>
                {e.details !== "{}" ? (
                  <div className="mt-1">
                    <AuditDetails t={t} details={e.details} />
                  </div>
                ) : null}
              </li>
            );
          })}
        </ol>
      )}
    </Card>
  );
}
