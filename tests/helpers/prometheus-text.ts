// A strict reader of the Prometheus text exposition format (version 0.0.4) for tests: every line must
// be a HELP, TYPE or comment line or a well-formed sample of a declared family, and histograms must be
// consistent (cumulative buckets ending in +Inf, equal to _count). Throws on the first violation.
export type Sample = { name: string; labels: Record<string, string>; value: number };
export type Family = { name: string; type: string; help: string | null; samples: Sample[] };
export type Exposition = {
  families: Map<string, Family>;
  /** the sum of the samples named `name` whose labels include `labels` (0 when none) */
  value(name: string, labels?: Record<string, string>): number;
  /** the samples named `name` whose labels include `labels` */
  samples(name: string, labels?: Record<string, string>): Sample[];
};

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** A float as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case, as prom-client writes "Nan"). */
function parseValue(s: string, line: string): number {
  if (/^\+?inf(inity)?$/i.test(s)) return Infinity;
  if (/^-inf(inity)?$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`not a number: ${s} in ${line}`);
  return Number(s);
}

function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after "{"
  for (;;) {
    while (text[i] === " ") i++;
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`unterminated labels in ${line}`);
    const name = text.slice(i, eq).trim();
    if (!LABEL.test(name)) throw new Error(`bad label name ${name} in ${line}`);
    if (name in labels) throw new Error(`label ${name} twice in ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in ${line}`);
    let v = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] !== "\\") {
        v += text[j];
        continue;
      }
      const n = text[++j];
      if (n === "\\") v += "\\";
      else if (n === '"') v += '"';
      else if (n === "n") v += "\n";
      else throw new Error(`bad escape \\${n} in ${line}`);
    }
    if (j >= text.length) throw new Error(`unterminated label value in ${line}`);
    labels[name] = v;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`expected , or } after label ${name} in ${line}`);
  }
}

/** The family a sample name belongs to (histogram and summary series carry suffixes). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  if (families.has(name)) return families.get(name);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === "histogram" || f.type === "summary")) return f;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Exposition {
  const families = new Map<string, Family>();
  const done = new Set<string>(); // a family's samples are contiguous: once another begins, it is closed
  let current: Family | null = null;
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition does not end with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // an ordinary comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name in ${line}`);
      const f = families.get(name) ?? { name, type: "untyped", help: null, samples: [] };
      if (f.samples.length) throw new Error(`${kind} after samples of ${name}`);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`bad type in ${line}`);
        if (families.has(name) && f.type !== "untyped") throw new Error(`second TYPE for ${name}`);
        f.type = rest;
      } else f.help = rest;
      families.set(name, f);
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`not a sample: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`bad metric name in ${line}`);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(" ");
    if (parts.length < 1 || parts.length > 2 || parts[0] === "") throw new Error(`bad value in ${line}`);
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp in ${line}`);
    const f = familyOf(name, families);
    if (!f) throw new Error(`sample of an undeclared family: ${line}`);
    if (f !== current) {
      if (done.has(f.name)) throw new Error(`samples of ${f.name} are not together`);
      if (current) done.add(current.name);
      current = f;
    }
    f.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  const matching = (name: string, want: Record<string, string> = {}) =>
    (familyOf(name, families)?.samples ?? []).filter(
      (s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v),
    );
  return {
    families,
    samples: matching,
    value: (name, want) => matching(name, want).reduce((a, s) => a + s.value, 0),
  };
}

function checkHistogram(f: Family) {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  const keyOf = (labels: Record<string, string>) =>
    JSON.stringify(
      Object.entries(labels)
        .filter(([k]) => k !== "le")
        .sort(),
    );
  for (const s of f.samples) {
    const e = series.get(keyOf(s.labels)) ?? { buckets: [] };
    series.set(keyOf(s.labels), e);
    if (s.name.endsWith("_bucket")) {
      if (s.labels.le === undefined) throw new Error(`${s.name} without le`);
      e.buckets.push([parseValue(s.labels.le, s.name), s.value]);
    } else if (s.name.endsWith("_count")) e.count = s.value;
  }
  for (const [key, e] of series) {
    const last = e.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < e.buckets.length; i++) {
      if (e.buckets[i]![0] <= e.buckets[i - 1]![0]) throw new Error(`${f.name}${key}: buckets out of order`);
      if (e.buckets[i]![1] < e.buckets[i - 1]![1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    if (e.count !== last[1]) throw new Error(`${f.name}${key}: +Inf bucket ${last[1]} ≠ count ${e.count}`);
  }
}
