// The audit log as people read it: human action names (the code on hover), translated actors, the
// target linked while it exists, details as key and value. Shared by the organization's log, the
// staff log and a connection's recent events.
import Link from "next/link";
import { getFormatter, getTranslations } from "next-intl/server";
import { Badge, EmptyState } from "@/app/_components/ui";
import {
  ACTOR_LABEL_KEYS,
  AUDIT_ACTIONS,
  AUDIT_ACTOR_TYPES,
  AUDIT_TARGET_TYPES,
  actorLabelKey,
} from "@/lib/audit/audit-actions";
import { ZAuditQuery, type TAuditFilters, type TAuditNames } from "@/lib/audit/list-audit-events";
import { auditTargetHref, auditTargetOf, type TAuditTarget } from "@/lib/audit/resolve-audit-targets";

type Translator = Awaited<ReturnType<typeof getTranslations>>;

export type TAuditRow = {
  id: string;
  action: string;
  actorType: string;
  actorLabel: string | null;
  outcome: string;
  targetType: string | null;
  targetId: string | null;
  details: string;
  createdAt: Date;
};

/** The action's human name in the reader's language, else its code. */
export function actionName(t: Translator, code: string) {
  return t.has(`actions.${code}`) ? t(`actions.${code}`) : code;
}

/** The actor's label (a system job's and an anonymous person's translated) and type. */
export function actorName(t: Translator, e: { actorType: string; actorLabel: string | null }) {
  const key = actorLabelKey(e.actorType, e.actorLabel);
  const label = key && t.has(`actorLabel.${key}`) ? t(`actorLabel.${key}`) : e.actorLabel;
  const type = t.has(`actorType.${e.actorType}`) ? t(`actorType.${e.actorType}`) : e.actorType;
  return { label, type };
}

/** Names in the reader's language for the filters (lib/audit/list-audit-events matches against them too). */
export async function auditNames(): Promise<TAuditNames> {
  const t = await getTranslations("audit");
  const names = (keys: readonly string[], ns: string, key = (k: string) => k) =>
    Object.fromEntries(keys.flatMap((k) => (t.has(`${ns}.${key(k)}`) ? [[k, t(`${ns}.${key(k)}`)]] : [])));
  return {
    actions: names(AUDIT_ACTIONS, "actions"),
    actorTypes: names(AUDIT_ACTOR_TYPES, "actorType"),
    actorLabels: names(Object.keys(ACTOR_LABEL_KEYS), "actorLabel", (k) => ACTOR_LABEL_KEYS[k]!),
    targetTypes: names(AUDIT_TARGET_TYPES, "targetType"),
  };
}

function detailValue(t: Translator, v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return v ? t("yes") : t("no");
  if (Array.isArray(v)) return v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ");
  if (typeof v === "object")
    return Object.entries(v)
      .map(([k, x]) => `${k}=${typeof x === "object" ? JSON.stringify(x) : String(x)}`)
      .join(", ");
  return String(v);
}

/** An event's details as a small list of key and value (common keys named in the reader's language). */
export function AuditDetails({ t, details }: { t: Translator; details: string }) {
  let parsed: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(details);
    parsed = v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    parsed = { value: details };
  }
  const entries = Object.entries(parsed);
  if (entries.length === 0) return null;
  return (
    <dl className="grid grid-cols-[minmax(0,max-content)_minmax(7rem,1fr)] gap-x-3 gap-y-0.5 text-xs">
      {entries.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-zinc-600 dark:text-zinc-400" title={k}>
            {t.has(`detailKey.${k}`) ? t(`detailKey.${k}`) : k}
          </dt>
          <dd className="font-mono wrap-anywhere">{detailValue(t, v)}</dd>
        </div>
      ))}
    </dl>
  );
}

function TargetCell({ t, orgSlug, target }: { t: Translator; orgSlug: string | null; target: TAuditTarget }) {
  const type = t.has(`targetType.${target.type}`) ? t(`targetType.${target.type}`) : target.type;
  const href = orgSlug ? auditTargetHref(orgSlug, target) : null;
  if (href)
    return (
      <span className="wrap-anywhere">
        <span className="block text-zinc-600 dark:text-zinc-400">{type}</span>
        <Link
          href={href}
          className="font-medium wrap-anywhere text-indigo-700 hover:underline dark:text-indigo-300"
          data-testid="audit-target-link"
        >
          {target.name ?? target.id}
        </Link>
      </span>
    );
  return (
    <span className="wrap-anywhere">
      <span className="block text-zinc-600 dark:text-zinc-400">{type}</span>
      <code className="wrap-anywhere">{target.id}</code>
      {orgSlug && !target.exists ? (
        <span className="ml-1 text-zinc-600 dark:text-zinc-400">{t("targetGone")}</span>
      ) : null}
    </span>
  );
}

export async function AuditTable({
  events,
  targets,
  orgSlug,
}: {
  events: TAuditRow[];
  targets: Map<string, TAuditTarget>;
  /** the organization whose pages targets link to; null: the staff log (no links) */
  orgSlug: string | null;
}) {
  const t = await getTranslations("audit");
  const ts = await getTranslations("status");
  const format = await getFormatter();
  return (
    <div className="card overflow-x-auto">
      <table className="data-table" data-testid="audit-table">
        <thead>
          <tr>
            <th scope="col">{t("when")}</th>
            <th scope="col">{t("action")}</th>
            <th scope="col">{t("actor")}</th>
            <th scope="col">{t("target")}</th>
            <th scope="col">{t("outcome")}</th>
            <th scope="col">{t("details")}</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => {
            const actor = actorName(t, e);
            const target = auditTargetOf(targets, e);
            return (
              <tr key={e.id} data-event-id={e.id}>
                <td className="text-xs whitespace-nowrap">
                  <time dateTime={e.createdAt.toISOString()}>
                    {format.dateTime(e.createdAt, { dateStyle: "medium", timeStyle: "medium" })}
                  </time>
                </td>
                <td className="text-xs">
                  <span title={e.action} data-code={e.action}>
                    {actionName(t, e.action)}
                  </span>
                </td>
                <td className="min-w-36 max-w-56 text-xs wrap-anywhere">
                  {actor.label ?? "—"} <span className="text-zinc-600 dark:text-zinc-400">({actor.type})</span>
                </td>
                <td className="min-w-36 max-w-56 text-xs">
                  {target ? <TargetCell t={t} orgSlug={orgSlug} target={target} /> : "—"}
                </td>
                <td className="whitespace-nowrap">
                  <Badge tone={e.outcome}>
                    {ts.has(`outcome.${e.outcome}`) ? ts(`outcome.${e.outcome}`) : e.outcome}
                  </Badge>
                </td>
                <td className="min-w-72 max-w-md">
                  <AuditDetails t={t} details={e.details} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

type Filters = TAuditFilters;
const FILTER_KEYS = ["action", "actor", "target", "from", "to"] as const;
const DEFAULT_LIMIT = ZAuditQuery.parse({}).limit;

/** The log's address with these filters (and a cursor), for links that keep them. */
export function auditHref(basePath: string, filters: Filters, extra: Record<string, string> = {}) {
  const params = new URLSearchParams();
  for (const k of FILTER_KEYS) if (filters[k]) params.set(k, filters[k]!);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  const s = params.toString();
  return s ? `${basePath}?${s}` : basePath;
}

export const hasAuditFilters = (f: Filters) => FILTER_KEYS.some((k) => Boolean(f[k]));

export async function AuditFilters({
  basePath,
  filters,
  withTarget = true,
}: {
  basePath: string;
  filters: Filters;
  withTarget?: boolean;
}) {
  const t = await getTranslations("audit");
  const names = await auditNames();
  const field = (name: keyof Filters, label: string, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <div className="min-w-0">
      <label htmlFor={`audit-${name}`} className="label">
        {label}
      </label>
      <input id={`audit-${name}`} name={name} defaultValue={filters[name] ?? ""} className="input" {...props} />
    </div>
  );
  return (
    <form
      action={basePath}
      className="mb-4 grid grid-cols-1 items-end gap-3 sm:grid-cols-2 lg:grid-cols-[repeat(3,minmax(0,1fr))_repeat(2,minmax(0,10rem))_auto]"
      role="search"
      aria-label={t("filtersLabel")}
    >
      {field("action", t("filterAction"), { placeholder: t("actionPlaceholder"), list: "audit-action-names" })}
      <datalist id="audit-action-names">
        {Object.entries(names.actions ?? {}).map(([code, name]) => (
          <option key={code} value={name} />
        ))}
      </datalist>
      {field("actor", t("filterActor"), { placeholder: t("actorPlaceholder") })}
      {withTarget ? field("target", t("filterTarget"), { placeholder: t("targetPlaceholder") }) : null}
      {field("from", t("filterFrom"), { type: "date" })}
      {field("to", t("filterTo"), { type: "date" })}
      <div className="flex gap-2">
        <button type="submit" className="btn-secondary whitespace-nowrap">
          {t("apply")}
        </button>
        {hasAuditFilters(filters) ? (
          <Link href={basePath} className="btn-secondary whitespace-nowrap">
            {t("clearFilters")}
          </Link>
        ) : null}
      </div>
    </form>
  );
}

/** The page's events, or what to do when there are none; then links to newer and older pages. */
export async function AuditLog({
  basePath,
  filters,
  events,
  targets,
  orgSlug,
  nextCursor,
  prevCursor,
  paged,
  limit,
}: {
  basePath: string;
  filters: Filters;
  events: TAuditRow[];
  targets: Map<string, TAuditTarget>;
  orgSlug: string | null;
  nextCursor: string | null;
  prevCursor: string | null;
  /** the page was reached by a cursor */
  paged: boolean;
  /** events a page, kept in the paging links when it is not the default */
  limit?: number;
}) {
  const t = await getTranslations("audit");
  const filtered = hasAuditFilters(filters);
  const keep: Record<string, string> = limit && limit !== DEFAULT_LIMIT ? { limit: String(limit) } : {};
  if (events.length === 0)
    return (
      <EmptyState
        title={filtered ? t("filteredEmptyTitle") : t("emptyTitle")}
        body={filtered ? t("filteredEmptyBody") : t("emptyBody")}
        action={
          filtered ? (
            <Link href={basePath} className="btn-secondary">
              {t("clearFilters")}
            </Link>
          ) : paged ? (
            <Link href={basePath} className="btn-secondary">
              {t("newest")}
            </Link>
          ) : undefined
        }
      />
    );
  return (
    <>
      <AuditTable events={events} targets={targets} orgSlug={orgSlug} />
      {nextCursor || prevCursor ? (
        <nav aria-label={t("paging")} className="mt-4 flex flex-wrap gap-2">
          {prevCursor ? (
            <Link
              className="btn-secondary"
              href={auditHref(basePath, filters, { ...keep, before: prevCursor })}
              rel="prev"
            >
              {t("newer")}
            </Link>
          ) : null}
          {nextCursor ? (
            <Link
              className="btn-secondary"
              href={auditHref(basePath, filters, { ...keep, cursor: nextCursor })}
              rel="next"
            >
              {t("older")}
            </Link>
          ) : null}
        </nav>
      ) : null}
    </>
  );
}
