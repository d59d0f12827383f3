// Hand-made server-rendered SVG: two bars with a few markers do not need a chart library.
// A connection's token lifetimes: the access token from its last refresh to its expiry (with the
// next refresh marked), the refresh token up to its expiry, and now. Each lane has its own time
// scale (an access token lives an hour, a refresh token months); the table below gives every time.
import { getFormatter, getTranslations } from "next-intl/server";

type Times = {
  status: string;
  connectedAt: Date | null;
  expiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
  lastRefreshedAt: Date | null;
  nextRefreshAt: Date | null;
};

const W = 400;
const H = 28;
const X0 = 6;
const X1 = W - 6;

function Lane({
  id,
  name,
  summary,
  from,
  to,
  now,
  marker,
}: {
  id: string;
  name: string;
  summary: string;
  from: Date;
  to: Date;
  now: Date;
  /** the next refresh, when it falls inside the lane */
  marker?: Date | null;
}) {
  const span = Math.max(to.getTime() - from.getTime(), 1);
  const x = (d: Date) => X0 + Math.min(Math.max((d.getTime() - from.getTime()) / span, 0), 1) * (X1 - X0);
  const expired = to <= now;
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-desc`}
      className="h-auto w-full"
    >
      <title id={`${id}-title`}>{name}</title>
      <desc id={`${id}-desc`}>{summary}</desc>
      <rect x={X0} y={10} width={X1 - X0} height={8} rx={4} className="fill-zinc-200 dark:fill-zinc-700" />
      <rect
        x={X0}
        y={10}
        width={Math.max(x(now) - X0, 0)}
        height={8}
        rx={4}
        className={expired ? "fill-red-600 dark:fill-red-400" : "fill-indigo-600 dark:fill-indigo-400"}
      />
      {marker && marker >= from && marker <= to ? (
        <path
          d={`M ${x(marker)} 20 l 5 7 h -10 z`}
          className="fill-amber-600 dark:fill-amber-300"
          data-testid={`${id}-next-refresh`}
        />
      ) : null}
      <line x1={x(now)} x2={x(now)} y1={2} y2={26} strokeWidth={2} className="stroke-zinc-900 dark:stroke-zinc-100" />
    </svg>
  );
}

/** Nothing for a connection without tokens (waiting for consent, disconnected) or with a key that never expires. */
export async function TokenTimeline({ connection: c }: { connection: Times }) {
  if (!c.expiresAt || c.expiresAt.getUTCFullYear() > 9000) return null;
  if (c.status !== "active" && c.status !== "error" && c.status !== "needs_reconsent") return null;
  const t = await getTranslations("tokenTimeline");
  const format = await getFormatter();
  const now = new Date();
  const at = (d: Date) => format.dateTime(d, { dateStyle: "medium", timeStyle: "short" });
  const rel = (d: Date) => format.relativeTime(d, now);
  const start = c.lastRefreshedAt ?? c.connectedAt ?? now;
  const accessEnd = new Date(Math.max(c.expiresAt.getTime(), c.nextRefreshAt?.getTime() ?? 0, start.getTime() + 1));
  const refreshStart = c.lastRefreshedAt ?? c.connectedAt ?? now;
  const rows: Array<[string, Date | null]> = [
    [c.lastRefreshedAt ? t("lastRefresh") : t("connected"), start],
    [t("now"), now],
    [t("nextRefresh"), c.nextRefreshAt],
    [t("accessExpires"), c.expiresAt],
    [t("refreshExpires"), c.refreshTokenExpiresAt],
  ];
  const accessSummary = [
    t("sLast", { when: rel(start) }),
    t("sAccess", { when: rel(c.expiresAt) }),
    c.nextRefreshAt ? t("sNext", { when: rel(c.nextRefreshAt) }) : "",
  ]
    .filter(Boolean)
    .join(" ");
  const refreshSummary = c.refreshTokenExpiresAt
    ? t("sRefresh", { when: rel(c.refreshTokenExpiresAt) })
    : t("sRefreshUnknown");
  const label = "text-xs font-medium text-zinc-700 dark:text-zinc-300";
  const ends = "mt-0.5 flex justify-between gap-3 text-xs text-zinc-600 dark:text-zinc-400";
  return (
    <section className="card" aria-labelledby="token-timeline-title" data-testid="token-timeline">
      <h2
        id="token-timeline-title"
        className="border-b border-zinc-200 px-5 py-3 text-sm font-semibold dark:border-zinc-800"
      >
        {t("title")}
      </h2>
      <div className="space-y-4 p-5">
        <div>
          <p className={label}>{t("accessToken")}</p>
          <Lane
            id="lane-access"
            name={t("accessToken")}
            summary={accessSummary}
            from={start}
            to={accessEnd}
            now={now}
            marker={c.nextRefreshAt}
          />
          <p className={ends} aria-hidden>
            <span>{at(start)}</span>
            <span>{at(c.expiresAt)}</span>
          </p>
        </div>
        <div>
          <p className={label}>{t("refreshToken")}</p>
          {c.refreshTokenExpiresAt ? (
            <>
              <Lane
                id="lane-refresh"
                name={t("refreshToken")}
                summary={refreshSummary}
                from={refreshStart}
                to={new Date(Math.max(c.refreshTokenExpiresAt.getTime(), refreshStart.getTime() + 1))}
                now={now}
              />
              <p className={ends} aria-hidden>
                <span>{at(refreshStart)}</span>
                <span>{at(c.refreshTokenExpiresAt)}</span>
              </p>
            </>
          ) : (
            <p className="text-xs text-zinc-600 dark:text-zinc-400">{refreshSummary}</p>
          )}
        </div>
        <ul className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-700 dark:text-zinc-300">
          <li className="flex items-center gap-1.5">
            <svg aria-hidden width="10" height="14" className="shrink-0">
              <line x1="5" x2="5" y1="0" y2="14" strokeWidth="2" className="stroke-zinc-900 dark:stroke-zinc-100" />
            </svg>
            {t("now")}
          </li>
          <li className="flex items-center gap-1.5">
            <svg aria-hidden width="10" height="8" className="shrink-0">
              <path d="M 5 0 l 5 8 h -10 z" className="fill-amber-600 dark:fill-amber-300" />
            </svg>
            {t("nextRefresh")}
          </li>
        </ul>
        <table className="w-full text-left text-xs tabular-nums">
          <caption className="sr-only">{t("title")}</caption>
          <thead className="text-zinc-600 dark:text-zinc-400">
            <tr>
              <th scope="col" className="py-1 pr-3 font-medium">
                {t("event")}
              </th>
              <th scope="col" className="py-1 pr-3 font-medium">
                {t("time")}
              </th>
              <th scope="col" className="py-1 font-medium">
                {t("relative")}
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([name, d]) => (
              <tr key={name} className="border-t border-zinc-100 dark:border-zinc-800">
                <th scope="row" className="py-1 pr-3 font-normal">
                  {name}
                </th>
                <td className="py-1 pr-3">{d ? <time dateTime={d.toISOString()}>{at(d)}</time> : t("unknown")}</td>
                <td className="py-1">{d && name !== t("now") ? rel(d) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
