// Messages (lib/i18n/messages/{en,ja}.json): both languages have exactly the same keys, no empty
// texts, the same ICU placeholders per key, and every message formats with use-intl. Then a static
// scan of the code: every literal key passed to a translator bound by useTranslations("ns") /
// await getTranslations("ns") (or with no namespace) exists, as do the message keys lib/ hands to
// forms (errors.*, validation.*) and every consent failure reason.
import fs from "node:fs";
import path from "node:path";
import { createTranslator } from "use-intl";
import { describe, expect, it } from "vitest";
import en from "@/lib/i18n/messages/en.json";
import ja from "@/lib/i18n/messages/ja.json";
import { REPO_ROOT } from "../helpers/paths";

type Messages = Record<string, unknown>;
const LOCALES: Record<string, Messages> = { en, ja };

/** Leaf key paths → values. */
function leaves(o: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (o && typeof o === "object" && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, o);
  return out;
}

function lookup(messages: unknown, key: string): unknown {
  return key
    .split(".")
    .reduce<unknown>(
      (o, k) => (o && typeof o === "object" && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined),
      messages,
    );
}

/** ICU argument names: `{name}`, `{count, plural, …}`, `{d, date, short}`; nested bodies are scanned too. */
function placeholders(message: string): string[] {
  return [...new Set([...message.matchAll(/\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?=[,}])/g)].map((m) => m[1]!))].sort();
}

describe("message catalogues", () => {
  const leafMaps = Object.fromEntries(Object.entries(LOCALES).map(([l, m]) => [l, leaves(m)]));

  it("are non-trivial", () => {
    expect(leafMaps.en!.size).toBeGreaterThan(300);
  });

  it("en and ja have exactly the same key paths", () => {
    const enKeys = [...leafMaps.en!.keys()];
    const jaKeys = [...leafMaps.ja!.keys()];
    expect(
      enKeys.filter((k) => !leafMaps.ja!.has(k)),
      "missing in ja",
    ).toEqual([]);
    expect(
      jaKeys.filter((k) => !leafMaps.en!.has(k)),
      "missing in en",
    ).toEqual([]);
  });

  it("every value is a non-empty string", () => {
    for (const [locale, map] of Object.entries(leafMaps)) {
      for (const [key, v] of map) {
        expect(typeof v, `${locale} ${key}`).toBe("string");
        expect((v as string).trim().length, `${locale} ${key} is empty`).toBeGreaterThan(0);
      }
    }
  });

  it("keys are usable by next-intl (no dots or empty segments inside a key)", () => {
    for (const key of leafMaps.en!.keys()) for (const seg of key.split(".")) expect(seg.length, key).toBeGreaterThan(0);
  });

  it("each key has the same ICU placeholders in en and ja", () => {
    let withPlaceholders = 0;
    for (const [key, v] of leafMaps.en!) {
      const other = leafMaps.ja!.get(key);
      if (typeof v !== "string" || typeof other !== "string") continue;
      expect(placeholders(other), `ja ${key}`).toEqual(placeholders(v));
      if (placeholders(v).length) withPlaceholders++;
    }
    expect(withPlaceholders).toBeGreaterThan(20);
  });

  it("the placeholder extractor sees what it should", () => {
    expect(placeholders("Hello {name}, you have {count, plural, one {# item from {org}} other {# items}}")).toEqual([
      "count",
      "name",
      "org",
    ]);
    expect(placeholders("no args '{quoted}'? {  spaced  }")).toEqual(["quoted", "spaced"]);
  });

  it("every message formats with use-intl, every placeholder filled", () => {
    for (const [locale, messages] of Object.entries(LOCALES)) {
      const errors: string[] = [];
      const t = createTranslator({ locale, messages, onError: (e) => errors.push(e.message) });
      for (const [key, v] of leafMaps[locale]!) {
        const names = placeholders(v as string);
        const typed = new Map(
          [...(v as string).matchAll(/\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*([a-z]+)/g)].map((m) => [m[1]!, m[2]!]),
        );
        const sample = (n: string) => {
          const type = typed.get(n);
          if (type === "plural" || type === "selectordinal" || type === "number") return 3;
          if (type === "date" || type === "time") return new Date(0);
          if (type === "select") return "other";
          return `«${n}»`;
        };
        const values = Object.fromEntries(names.map((n) => [n, sample(n)]));
        const out = t(key as never, values as never) as string;
        expect(typeof out, `${locale} ${key}`).toBe("string");
        expect(out, `${locale} ${key}`).not.toMatch(/NaN|undefined|\{[A-Za-z_]/);
        for (const n of names) if (!typed.has(n)) expect(out, `${locale} ${key}`).toContain(`«${n}»`);
      }
      expect(errors, locale).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Static scan of translator calls
// ---------------------------------------------------------------------------------------------

type Finding = { file: string; line: number; key: string; problem: string };
type ScanResult = { checked: number; bindings: number; findings: Finding[] };

// no back-references: these pieces are combined, and back-reference numbers would shift
const STR = String.raw`(?:"((?:\\.|[^"\\\n])*)"|'((?:\\.|[^'\\\n])*)')`;
// useTranslations() / getTranslations() argument: nothing, "ns", or { …, namespace: "ns", … }
const ARGS = String.raw`\(\s*(?:"([^"\n]*)"|'([^'\n]*)'|\{[^{}]*?\bnamespace\s*:\s*(?:"([^"\n]*)"|'([^'\n]*)')[^{}]*\}|\{[^{}]*\})?\s*\)`;
/** The first capture group in [from, to] that matched. */
const first = (m: RegExpMatchArray, from: number, to: number) => {
  for (let i = from; i <= to; i++) if (m[i] !== undefined) return m[i];
  return undefined;
};

function stripComments(src: string): string {
  // block comments and whole-line // comments; replaced by spaces so offsets (and line numbers) stay put
  return src
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/^[ \t]*\/\/.*$/gm, (m) => " ".repeat(m.length));
}

const lineOf = (src: string, index: number) => src.slice(0, index).split("\n").length;

/**
 * Finds translators and the literal keys passed to them. Template literals and `.has()` are skipped.
 * Any use of useTranslations/getTranslations the scanner does not understand is reported, so a new
 * pattern cannot silently escape the check.
 */
function scanSource(file: string, source: string, messages: Messages): ScanResult {
  const src = stripComments(source);
  const findings: Finding[] = [];
  let checked = 0;
  const check = (ns: string | undefined, key: string, index: number, raw: boolean) => {
    const full = ns ? `${ns}.${key}` : key;
    const v = lookup(messages, full);
    checked++;
    if (v === undefined) findings.push({ file, line: lineOf(src, index), key: full, problem: "missing" });
    else if (!raw && typeof v !== "string")
      findings.push({ file, line: lineOf(src, index), key: full, problem: "not a message (a namespace?)" });
  };

  const understood = new Set<number>();
  // 1. bindings: const t = useTranslations("ns") / const t = await getTranslations("ns")
  const bindings: Array<{ name: string; ns: string | undefined; index: number }> = [];
  const bindRe = new RegExp(
    String.raw`\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:await\s+)?((?:use|get)Translations)` + ARGS,
    "g",
  );
  for (const m of src.matchAll(bindRe)) {
    bindings.push({ name: m[1]!, ns: first(m, 3, 6), index: m.index! });
    understood.add(m.index! + m[0].indexOf(m[2]!));
  }
  // 2. inline: (await getTranslations("ns"))("key") and useTranslations("ns")("key")
  const inlineRe = new RegExp(
    String.raw`(?:\(\s*await\s+(getTranslations)` +
      ARGS +
      String.raw`\s*\)|(useTranslations)` +
      ARGS +
      String.raw`)\s*\(\s*` +
      STR,
    "g",
  );
  for (const m of src.matchAll(inlineRe)) {
    const fn = m[1] ?? m[6]!;
    understood.add(m.index! + m[0].indexOf(fn));
    check(first(m, 2, 5) ?? first(m, 7, 10), first(m, 11, 12)!, m.index!, false);
  }
  // 3. every other mention must be an import or a type position
  for (const m of src.matchAll(/\b(?:use|get)Translations\b/g)) {
    if (understood.has(m.index!)) continue;
    const lineStart = src.lastIndexOf("\n", m.index!) + 1;
    const line = src.slice(lineStart, src.indexOf("\n", m.index!) === -1 ? undefined : src.indexOf("\n", m.index!));
    const after = src.slice(m.index! + m[0].length);
    if (
      /^\s*import\b/.test(line) ||
      /^\s*[,}]/.test(after) ||
      /^\s*>/.test(after) ||
      /typeof\s+$/.test(src.slice(lineStart, m.index!))
    )
      continue;
    // an import list spanning lines: `  useTranslations,` between `import {` and `} from`
    const before = src.slice(0, m.index!);
    if (before.lastIndexOf("import {") > before.lastIndexOf("}")) continue;
    findings.push({
      file,
      line: lineOf(src, m.index!),
      key: m[0],
      problem: "translator use the scanner does not understand",
    });
  }
  // 4. calls: t("key"), t.rich("key"), t.markup("key"), t.raw("key") — resolved to the nearest binding above
  const names = new Set(bindings.map((b) => b.name));
  for (const name of names) {
    const esc = name.replace(/\$/g, "\\$");
    const callRe = new RegExp(String.raw`(?<![\w$.])${esc}(?:\.(rich|markup|raw))?\(\s*` + STR, "g");
    for (const m of src.matchAll(callRe)) {
      const binding = bindings.filter((b) => b.name === name && b.index < m.index!).at(-1);
      if (!binding) continue;
      check(binding.ns, first(m, 2, 3)!, m.index!, m[1] === "raw");
    }
  }
  return { checked, bindings: bindings.length, findings };
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "node_modules" || entry.name === "generated" || entry.name.startsWith(".")) continue;
      out.push(...sourceFiles(p));
    } else if (/\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

describe("translation keys used in code", () => {
  const files = [...sourceFiles(path.join(REPO_ROOT, "app")), ...sourceFiles(path.join(REPO_ROOT, "lib"))];

  it("the scanner catches a typo, a wrong namespace and an unknown pattern (self-test)", () => {
    const messages = {
      shell: { menu: "Menu", nested: { a: "A" } },
      common: { copy: "Copy" },
      errors: { unexpected: "x" },
    };
    const ok = scanSource(
      "ok.tsx",
      `import { useTranslations } from "next-intl";
       import { getTranslations } from "next-intl/server";
       export function A() { const t = useTranslations("shell"); return t("menu") + t.rich('nested.a', {}) + t(\`dyn.\${x}\`) + (t.has("zzz") ? 1 : 0); }
       export async function B() { const t = await getTranslations("common"); const tAll = await getTranslations(); return t("copy") + tAll("errors.unexpected"); }
       export async function C() { return (await getTranslations("shell"))("menu"); }
       export async function D() { const t = await getTranslations({ locale: "en", namespace: "common" }); return t(
         "copy"); }`,
      messages,
    );
    expect(ok.findings).toEqual([]);
    expect(ok.checked).toBe(6);
    expect(ok.bindings).toBe(4);

    const bad = scanSource(
      "bad.tsx",
      `export function A() { const t = useTranslations("shell"); return t("menuu"); }
       export async function B() { const t = await getTranslations("common"); return t("menu"); }
       export async function C() { return (await getTranslations("shell"))("copy"); }
       export async function D() { const t = await getTranslations(); return t("shell.nested"); }
       export function E() { const fn = useTranslations; return fn; }`,
      messages,
    );
    expect(bad.findings.map((f) => `${f.line}:${f.key}:${f.problem}`).sort()).toEqual(
      [
        "1:shell.menuu:missing",
        "2:common.menu:missing",
        "3:shell.copy:missing",
        "4:shell.nested:not a message (a namespace?)",
        "5:useTranslations:translator use the scanner does not understand",
      ].sort(),
    );
  });

  it("every literal key passed to a translator exists in en.json", () => {
    let checked = 0;
    let bindings = 0;
    let filesWithTranslators = 0;
    const findings: Finding[] = [];
    for (const file of files) {
      const source = fs.readFileSync(file, "utf8");
      if (!/\b(?:use|get)Translations\b/.test(source)) continue;
      filesWithTranslators++;
      const r = scanSource(path.relative(REPO_ROOT, file), source, en);
      checked += r.checked;
      bindings += r.bindings;
      findings.push(...r.findings);
    }
    expect(findings.map((f) => `${f.file}:${f.line} ${f.key} (${f.problem})`)).toEqual([]);
    // the scan really looked at the code base
    expect(filesWithTranslators).toBeGreaterThanOrEqual(30);
    expect(bindings).toBeGreaterThanOrEqual(40);
    expect(checked).toBeGreaterThanOrEqual(250);
  });

  it("every errors.* / validation.* key named in code exists", () => {
    const missing: string[] = [];
    let seen = 0;
    for (const file of files) {
      const src = stripComments(fs.readFileSync(file, "utf8"));
      for (const m of src.matchAll(/["'`]((?:errors|validation)\.[A-Za-z0-9_]+)["'`]/g)) {
        seen++;
        if (typeof lookup(en, m[1]!) !== "string")
          missing.push(`${path.relative(REPO_ROOT, file)}:${lineOf(src, m.index!)} ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
    expect(seen).toBeGreaterThanOrEqual(40);
  });

  it("every consent failure reason has a consentResult.reasons text", () => {
    const src = fs.readFileSync(path.join(REPO_ROOT, "lib/consent/complete-consent.ts"), "utf8");
    const decl = /export type ConsentFailureReason\s*=([^;]+);/.exec(src);
    expect(decl).not.toBeNull();
    const reasons = [...decl![1]!.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]!);
    expect(reasons.length).toBeGreaterThanOrEqual(10);
    for (const [locale, messages] of Object.entries(LOCALES)) {
      for (const r of reasons)
        expect(typeof lookup(messages, `consentResult.reasons.${r}`), `${locale} consentResult.reasons.${r}`).toBe(
          "string",
        );
      expect(typeof lookup(messages, "consentResult.reasons.unknown"), locale).toBe("string");
    }
  });
});
