// Hand-made server-rendered SVG: a few stacked bars and lines do not need a chart library (nor its client JS).
// Each chart is an image with a text alternative (<title>, <desc>) and its data as a table in a <details>.
// Colours pass 3:1 against the card in both themes and every series is named in a legend; lines also differ by dash.

export type TChartSeries = {
  key: string;
  label: string;
  /** one of SERIES_TONES' keys */
  tone: TTone;
};

export type TChartPoint = {
  /** the short tick under the axis; "" leaves the tick out */
  tick: string;
  /** the row's name in the data table */
  label: string;
  values: Record<string, number>;
};

export type TTone = "emerald" | "red" | "orange" | "amber" | "sky" | "violet" | "fuchsia" | "zinc";

// literal class names (Tailwind finds them in the source): fill, stroke and legend swatch per tone
const TONES: Record<TTone, { fill: string; stroke: string; swatch: string }> = {
  emerald: {
    fill: "fill-emerald-600 dark:fill-emerald-400",
    stroke: "stroke-emerald-600 dark:stroke-emerald-400",
    swatch: "bg-emerald-600 dark:bg-emerald-400",
  },
  red: {
    fill: "fill-red-600 dark:fill-red-400",
    stroke: "stroke-red-600 dark:stroke-red-400",
    swatch: "bg-red-600 dark:bg-red-400",
  },
  orange: {
    fill: "fill-orange-600 dark:fill-orange-400",
    stroke: "stroke-orange-600 dark:stroke-orange-400",
    swatch: "bg-orange-600 dark:bg-orange-400",
  },
  amber: {
    fill: "fill-amber-600 dark:fill-amber-300",
    stroke: "stroke-amber-600 dark:stroke-amber-300",
    swatch: "bg-amber-600 dark:bg-amber-300",
  },
  sky: {
    fill: "fill-sky-600 dark:fill-sky-400",
    stroke: "stroke-sky-600 dark:stroke-sky-400",
    swatch: "bg-sky-600 dark:bg-sky-400",
  },
  violet: {
    fill: "fill-violet-600 dark:fill-violet-400",
    stroke: "stroke-violet-600 dark:stroke-violet-400",
    swatch: "bg-violet-600 dark:bg-violet-400",
  },
  fuchsia: {
    fill: "fill-fuchsia-600 dark:fill-fuchsia-400",
    stroke: "stroke-fuchsia-600 dark:stroke-fuchsia-400",
    swatch: "bg-fuchsia-600 dark:bg-fuchsia-400",
  },
  zinc: {
    fill: "fill-zinc-500 dark:fill-zinc-400",
    stroke: "stroke-zinc-500 dark:stroke-zinc-400",
    swatch: "bg-zinc-500 dark:bg-zinc-400",
  },
};
const DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2"];

const W = 400;
const H = 170;
const PAD = { left: 30, right: 16, top: 8, bottom: 22 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;
const AXIS_TEXT = "fill-zinc-600 text-[11px] dark:fill-zinc-400";
const GRID = "stroke-zinc-200 dark:stroke-zinc-700";

/** A round axis maximum at or above `max` (1, 2, 5 × 10ⁿ), never 0. */
export function niceMax(max: number) {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max)!;
}

function YAxis({ max }: { max: number }) {
  return (
    <g aria-hidden>
      {[0, max / 2, max].map((v) => {
        const y = PAD.top + PLOT_H - (v / max) * PLOT_H;
        return (
          <g key={v}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} className={GRID} strokeWidth={1} />
            <text x={PAD.left - 4} y={y + 3} textAnchor="end" className={AXIS_TEXT}>
              {Number.isInteger(v) ? v : ""}
            </text>
          </g>
        );
      })}
    </g>
  );
}

function Ticks({ points, x }: { points: TChartPoint[]; x: (i: number) => number }) {
  return (
    <g aria-hidden>
      {points.map((p, i) =>
        p.tick ? (
          <text key={i} x={x(i)} y={H - 6} textAnchor="middle" className={AXIS_TEXT}>
            {p.tick}
          </text>
        ) : null,
      )}
    </g>
  );
}

function Legend({ series, dashed }: { series: TChartSeries[]; dashed?: boolean }) {
  return (
    <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-700 dark:text-zinc-300">
      {series.map((s, i) => (
        <li key={s.key} className="flex items-center gap-1.5">
          {dashed ? (
            <svg aria-hidden width="18" height="6" className="shrink-0">
              <line
                x1="0"
                x2="18"
                y1="3"
                y2="3"
                strokeWidth="2"
                strokeDasharray={DASHES[i % DASHES.length]}
                className={TONES[s.tone].stroke}
              />
            </svg>
          ) : (
            <span aria-hidden className={`inline-block h-2.5 w-2.5 shrink-0 rounded-sm ${TONES[s.tone].swatch}`} />
          )}
          {s.label}
        </li>
      ))}
    </ul>
  );
}

function DataTable({
  caption,
  showData,
  head,
  series,
  points,
  total,
}: {
  caption: string;
  showData: string;
  head: string;
  series: TChartSeries[];
  points: TChartPoint[];
  total?: string;
}) {
  return (
    <details className="mt-2 text-xs">
      <summary className="cursor-pointer font-medium text-indigo-700 dark:text-indigo-300">{showData}</summary>
      <div className="mt-2 max-h-72 overflow-auto">
        <table className="w-full text-left tabular-nums">
          <caption className="sr-only">{caption}</caption>
          <thead className="text-zinc-600 dark:text-zinc-400">
            <tr>
              <th scope="col" className="py-1 pr-3 font-medium">
                {head}
              </th>
              {series.map((s) => (
                <th key={s.key} scope="col" className="py-1 pr-3 text-right font-medium">
                  {s.label}
                </th>
              ))}
              {total ? (
                <th scope="col" className="py-1 text-right font-medium">
                  {total}
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {points.map((p, i) => (
              <tr key={i} className="border-t border-zinc-100 dark:border-zinc-800">
                <th scope="row" className="py-1 pr-3 font-normal whitespace-nowrap">
                  {p.label}
                </th>
                {series.map((s) => (
                  <td key={s.key} className="py-1 pr-3 text-right">
                    {p.values[s.key] ?? 0}
                  </td>
                ))}
                {total ? (
                  <td className="py-1 text-right">{series.reduce((n, s) => n + (p.values[s.key] ?? 0), 0)}</td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

type ChartProps = {
  /** unique on the page: the ids of the title and description */
  id: string;
  title: string;
  /** the text alternative: what the picture says, in a sentence or two */
  summary: string;
  series: TChartSeries[];
  points: TChartPoint[];
  /** the data table's first column header, the "show data" label, and (bars) the total column's */
  labels: { head: string; showData: string; total?: string };
};

/** Stacked bars, one per point. */
/** The accessible SVG frame both charts share: title and description, axis, ticks, then legend and table. */
function ChartFrame({
  id,
  title,
  summary,
  max,
  points,
  x,
  after,
  children,
}: {
  id: string;
  title: string;
  summary: string;
  max: number;
  points: TChartPoint[];
  x: (i: number) => number;
  after: React.ReactNode;
  children: React.ReactNode;
}) {
  return (
    <figure data-testid={`chart-${id}`}>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-labelledby={`${id}-title`}
        aria-describedby={`${id}-desc`}
        className="h-auto w-full"
        preserveAspectRatio="xMidYMid meet"
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{summary}</desc>
        <YAxis max={max} />
        {children}
        <Ticks points={points} x={x} />
      </svg>
      {after}
    </figure>
  );
}

export function StackedBarChart({ id, title, summary, series, points, labels }: ChartProps) {
  const max = niceMax(Math.max(0, ...points.map((p) => series.reduce((n, s) => n + (p.values[s.key] ?? 0), 0))));
  const band = PLOT_W / Math.max(points.length, 1);
  const barW = Math.max(2, band * 0.7);
  const x = (i: number) => PAD.left + band * i + band / 2;
  const y = (v: number) => (v / max) * PLOT_H;
  return (
    <ChartFrame
      id={id}
      title={title}
      summary={summary}
      max={max}
      points={points}
      x={x}
      after={
        <>
          <Legend series={series} />
          <DataTable
            caption={title}
            showData={labels.showData}
            head={labels.head}
            series={series}
            points={points}
            total={labels.total}
          />
        </>
      }
    >
      {points.map((p, i) => {
        let base = PAD.top + PLOT_H;
        return (
          <g key={i}>
            {series.map((s) => {
              const v = p.values[s.key] ?? 0;
              if (!v) return null;
              const h = y(v);
              base -= h;
              return (
                <rect key={s.key} x={x(i) - barW / 2} y={base} width={barW} height={h} className={TONES[s.tone].fill}>
                  <title>{`${p.label} · ${s.label}: ${v}`}</title>
                </rect>
              );
            })}
          </g>
        );
      })}
    </ChartFrame>
  );
}

/** One line per series over the points. */
export function LineChart({ id, title, summary, series, points, labels }: ChartProps) {
  const max = niceMax(Math.max(0, ...points.flatMap((p) => series.map((s) => p.values[s.key] ?? 0))));
  const step = PLOT_W / Math.max(points.length - 1, 1);
  const x = (i: number) => PAD.left + step * i;
  const y = (v: number) => PAD.top + PLOT_H - (v / max) * PLOT_H;
  return (
    <ChartFrame
      id={id}
      title={title}
      summary={summary}
      max={max}
      points={points}
      x={x}
      after={
        <>
          <Legend series={series} dashed />
          <DataTable caption={title} showData={labels.showData} head={labels.head} series={series} points={points} />
        </>
      }
    >
      {series.map((s, si) => (
        <g key={s.key}>
          <polyline
            fill="none"
            strokeWidth={2}
            strokeLinejoin="round"
            strokeDasharray={DASHES[si % DASHES.length]}
            className={TONES[s.tone].stroke}
            points={points.map((p, i) => `${x(i)},${y(p.values[s.key] ?? 0)}`).join(" ")}
          />
          {points.map((p, i) => (
            <circle key={i} cx={x(i)} cy={y(p.values[s.key] ?? 0)} r={2.5} className={TONES[s.tone].fill}>
              <title>{`${p.label} · ${s.label}: ${p.values[s.key] ?? 0}`}</title>
            </circle>
          ))}
        </g>
      ))}
    </ChartFrame>
  );
}
