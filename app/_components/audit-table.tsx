import { getTranslations } from "next-intl/server";
import { Badge } from "@/app/_components/ui";

type Row = {
  id: string;
  action: string;
  actorType: string;
  actorLabel: string | null;
  outcome: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  details: string;
  when: string;
  iso: string;
};

export async function AuditTable({ events }: { events: Row[] }) {
  const t = await getTranslations("audit");
  const ts = await getTranslations("status");
  return (
    <div className="card overflow-x-auto">
      <table className="data-table">
        <thead>
          <tr>
            <th scope="col">{t("when")}</th>
            <th scope="col">{t("action")}</th>
            <th scope="col">{t("actor")}</th>
            <th scope="col">{t("outcome")}</th>
            <th scope="col">{t("details")}</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id}>
              <td className="whitespace-nowrap text-xs">
                <time dateTime={e.iso}>{e.when}</time>
              </td>
              <td className="font-mono text-xs">{e.action}</td>
              <td className="text-xs">
                {e.actorLabel ?? "—"} <span className="text-zinc-500">({t(`actorType.${e.actorType}`)})</span>
              </td>
              <td>
                <Badge tone={e.outcome}>{ts(`outcome.${e.outcome}`)}</Badge>
              </td>
              <td className="max-w-md break-all font-mono text-xs text-zinc-600 dark:text-zinc-400">
                {e.details === "{}" ? "" : e.details}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
