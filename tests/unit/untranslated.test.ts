// Text people read that would bypass the translations (lib/i18n/messages): English literals in the
// JSX of app/ (with the TypeScript parser), AppErrors a portal form can receive without a message key,
// field errors in English instead of a validation.* key, provider names, and the API reference's
// operation texts (kept in lib/i18n/openapi/ja.json beside the English they were made from).
// The browser side of the same check (rendered Japanese pages, no English words) is in
// tests/e2e/a11y.spec.ts.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import en from "@/lib/i18n/messages/en.json";
import ja from "@/lib/i18n/messages/ja.json";
import openApiJa from "@/lib/i18n/openapi/ja.json";
import { buildOpenApiDocument } from "@/lib/api/openapi";
import { listProviders } from "@/lib/providers/catalogue";
import { REPO_ROOT } from "../helpers/paths";

function sourceFiles(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "node_modules" || entry.name === "generated" || entry.name.startsWith(".")) continue;
      out.push(...sourceFiles(p, ext));
    } else if (ext.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSX literals
// ---------------------------------------------------------------------------------------------

/** Elements whose text is code or data, not prose: identifiers, URLs, JSON, commands. */
const CODE_ELEMENTS = new Set(["code", "pre", "kbd", "samp", "script", "style"]);
/** Attributes people read (or hear, through a screen reader). */
const READ_ATTRIBUTES = new Set(["placeholder", "aria-label", "aria-description", "title", "alt", "label"]);
/** The product's name, the same in every language. */
const BRAND = new Set(["Consentry"]);
/** Example values in placeholders: one token that looks like a URL, a path, key=value or a PEM line. */
const looksLikeCode = (s: string) =>
  /^-----(BEGIN|END) [A-Z ]+-----$/.test(s) || (!/\s/.test(s) && /[/=_.:?&…]/.test(s));

type Literal = { file: string; line: number; text: string; where: string };

/** English-looking literals in a TSX source: text children, string children and read attributes. */
export function jsxLiterals(file: string, source: string): Literal[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const out: Literal[] = [];
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const tagOf = (n: ts.Node): string | undefined => {
    const open = ts.isJsxElement(n) ? n.openingElement : ts.isJsxSelfClosingElement(n) ? n : undefined;
    return open ? open.tagName.getText(sf) : undefined;
  };
  const inCode = (n: ts.Node) => {
    for (let p: ts.Node | undefined = n.parent; p; p = p.parent) if (CODE_ELEMENTS.has(tagOf(p) ?? "")) return true;
    return false;
  };
  const englishy = (s: string) => /[A-Za-z]{2,}/.test(s) && !BRAND.has(s.trim());
  const visit = (n: ts.Node) => {
    if (ts.isJsxText(n) && englishy(n.text) && !inCode(n)) {
      // a text node starts with the whitespace after the tag before it: count lines from its first word
      const first = n.getStart(sf) + n.text.length - n.text.trimStart().length;
      out.push({ file, line: sf.getLineAndCharacterOfPosition(first).line + 1, text: n.text.trim(), where: "text" });
    } else if (
      ts.isJsxExpression(n) &&
      n.expression &&
      (ts.isStringLiteral(n.expression) || ts.isNoSubstitutionTemplateLiteral(n.expression)) &&
      !ts.isJsxAttribute(n.parent) &&
      englishy(n.expression.text) &&
      !inCode(n)
    )
      out.push({ file, line: lineOf(n), text: n.expression.text, where: "string child" });
    else if (
      ts.isJsxAttribute(n) &&
      READ_ATTRIBUTES.has(n.name.getText(sf)) &&
      n.initializer &&
      ts.isStringLiteral(n.initializer) &&
      englishy(n.initializer.text) &&
      !looksLikeCode(n.initializer.text)
    )
      out.push({ file, line: lineOf(n), text: n.initializer.text, where: `${n.name.getText(sf)}=` });
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe("JSX text goes through the translations", () => {
  it("the scanner finds text, string children and read attributes, not code or brand names (self-test)", () => {
    const found = jsxLiterals(
      "x.tsx",
      `export const A = () => (
        <div title="Open the menu">
          Hello there
          {"Save changes"}
          <code>client_id</code>
          <pre>{"curl -sS https://x"}</pre>
          <input placeholder="https://jobs.example.com/hooks" aria-label={t("x")} />
          <span>Consentry</span>
          <span>{t("ok")} · 42</span>
          <p>-----BEGIN CERTIFICATE-----</p>
        </div>
      );`,
    );
    expect(found.map((f) => `${f.line} ${f.where} ${f.text}`)).toEqual([
      "2 title= Open the menu",
      "3 text Hello there",
      "4 string child Save changes",
      "10 text -----BEGIN CERTIFICATE-----",
    ]);
  });

  it("no English literal in app/**/*.tsx", () => {
    const files = sourceFiles(path.join(REPO_ROOT, "app"), /\.tsx$/);
    expect(files.length).toBeGreaterThan(40);
    const found = files.flatMap((f) => jsxLiterals(path.relative(REPO_ROOT, f), fs.readFileSync(f, "utf8")));
    expect(found.map((f) => `${f.file}:${f.line} ${f.where} ${JSON.stringify(f.text)}`)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Errors a portal form can receive
// ---------------------------------------------------------------------------------------------

const IMPORT = /(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function resolveImport(spec: string, from: string): string | null {
  let base: string;
  if (spec.startsWith("@/")) base = path.join(REPO_ROOT, spec.slice(2));
  else if (spec.startsWith(".")) base = path.resolve(path.dirname(from), spec);
  else return null;
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")])
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile() && /\.tsx?$/.test(candidate)) return candidate;
  return null;
}

/** Every source file a module reaches through its imports (the generated Prisma client left out). */
function importClosure(entries: string[]): string[] {
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of fs.readFileSync(file, "utf8").matchAll(IMPORT)) {
      const target = resolveImport(m[1] ?? m[2]!, file);
      if (target && !target.includes(`${path.sep}generated${path.sep}`)) stack.push(target);
    }
  }
  return [...seen];
}

/** `new AppError(...)` calls, whole (balanced parentheses), with their line. */
function appErrorCalls(source: string): Array<{ line: number; call: string }> {
  const out: Array<{ line: number; call: string }> = [];
  for (const m of source.matchAll(/new AppError\(/g)) {
    let depth = 1;
    let i = m.index! + m[0].length;
    while (depth > 0 && i < source.length) {
      const c = source[i++]!;
      if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) depth--;
    }
    out.push({ line: source.slice(0, m.index!).split("\n").length, call: source.slice(m.index!, i) });
  }
  return out;
}

/** The API's fallback for unexpected errors: answered as problem+json, never to a form (formAction has its own). */
const API_ONLY = new Set(["lib/errors.ts"]);
const MESSAGE_KEY = /^(errors|validation)\.[A-Za-z0-9_]+$/;

describe("errors a portal form shows have message keys", () => {
  const actionFiles = sourceFiles(path.join(REPO_ROOT, "app"), /actions\.ts$/);
  const closure = importClosure(actionFiles).map((f) => path.relative(REPO_ROOT, f));

  it("the server actions reach the lib functions they call", () => {
    expect(actionFiles.length).toBeGreaterThanOrEqual(8);
    for (const f of ["lib/connections/create-connection.ts", "lib/webhooks/create-webhook-endpoint.ts"])
      expect(closure).toContain(f);
  });

  it("every AppError thrown where a server action can catch it names an i18n key", () => {
    const missing: string[] = [];
    let seen = 0;
    for (const file of closure) {
      if (API_ONLY.has(file)) continue;
      for (const { line, call } of appErrorCalls(fs.readFileSync(path.join(REPO_ROOT, file), "utf8"))) {
        seen++;
        if (!/\bi18n\s*:/.test(call)) missing.push(`${file}:${line} ${call.split("\n")[0]!.trim()}`);
      }
    }
    expect(missing).toEqual([]);
    expect(seen).toBeGreaterThan(40);
  });

  it("their field errors are message keys, not English", () => {
    const english: string[] = [];
    for (const file of closure) {
      if (API_ONLY.has(file)) continue;
      for (const { line, call } of appErrorCalls(fs.readFileSync(path.join(REPO_ROOT, file), "utf8")))
        for (const m of call.matchAll(/\bmessage:\s*(["'`])((?:\\.|(?!\1).)*)\1/g))
          if (!MESSAGE_KEY.test(m[2]!)) english.push(`${file}:${line} ${m[2]}`);
    }
    expect(english).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Data people read: provider names, the API reference
// ---------------------------------------------------------------------------------------------

describe("texts that come from data", () => {
  it("every provider has a name in each language (English: the catalogue's)", () => {
    const names = { en: en.providerNames, ja: ja.providerNames } as Record<string, Record<string, string>>;
    for (const p of listProviders()) {
      expect(names.en![p.id], `en providerNames.${p.id}`).toBe(p.name);
      expect(names.ja![p.id]?.trim(), `ja providerNames.${p.id}`).toBeTruthy();
    }
  });

  it("every API operation's summary and description has a current Japanese text", () => {
    type Op = { operationId: string; summary: string; description?: string };
    const doc = buildOpenApiDocument() as unknown as { paths: Record<string, Record<string, Op>> };
    const texts = openApiJa as Record<string, Record<string, { en: string; ja: string } | undefined>>;
    const problems: string[] = [];
    let checked = 0;
    for (const ops of Object.values(doc.paths))
      for (const op of Object.values(ops))
        for (const field of ["summary", "description"] as const) {
          const english = op[field];
          if (!english) continue;
          checked++;
          const entry = texts[op.operationId]?.[field];
          if (!entry?.ja.trim()) problems.push(`${op.operationId}.${field}: no Japanese text`);
          else if (entry.en !== english)
            problems.push(
              `${op.operationId}.${field}: the English changed; translate it again and update "en" (now: ${JSON.stringify(english)})`,
            );
        }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });
});
