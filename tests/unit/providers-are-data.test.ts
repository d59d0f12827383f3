// STYLE.md rule 6, issue 14: code under lib/ reads flags and tables from the catalogue and never branches
// on which provider it is. Every .ts file under lib/ (but the catalogue and Prisma's generated client) is
// parsed with the TypeScript compiler, so comments, messages and types never count; only a catalogue id
// used as a literal where a provider would be told apart does: ===/!== and friends, a switch case, a list
// or Set tested for membership, a method like includes/has/startsWith, or an object keyed by provider id.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { REPO_ROOT } from "../helpers/paths";

const IDS: ReadonlySet<string> = new Set(PROVIDERS.keys());
const EXCLUDED = ["lib/providers/catalogue.ts", "lib/generated/"];

const EQUALITY = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);
/** methods whose literal argument is compared with the receiver or its members */
const COMPARING_METHODS = new Set(["includes", "indexOf", "lastIndexOf", "has", "startsWith", "endsWith", "is"]);
/** methods that test an array literal's members against their argument */
const MEMBERSHIP_METHODS = new Set(["includes", "indexOf", "lastIndexOf", "some", "find", "findIndex", "every"]);

type Finding = { line: number; text: string; why: string };

/** The expression a literal stands for once parentheses, `as`, `satisfies` and `!` are peeled off. */
function outermost(node: ts.Node): ts.Node {
  let n = node;
  while (
    ts.isParenthesizedExpression(n.parent) ||
    ts.isAsExpression(n.parent) ||
    ts.isSatisfiesExpression(n.parent) ||
    ts.isTypeAssertionExpression(n.parent) ||
    ts.isNonNullExpression(n.parent)
  )
    n = n.parent;
  return n;
}

function isCollection(node: ts.Node, constructor: RegExp): boolean {
  return ts.isNewExpression(node) && ts.isIdentifier(node.expression) && constructor.test(node.expression.text);
}

function calledMethod(node: ts.Node): string | null {
  const access = node.parent;
  if (!ts.isPropertyAccessExpression(access) || access.expression !== node) return null;
  const call = access.parent;
  return ts.isCallExpression(call) && call.expression === access ? access.name.text : null;
}

/** Why this provider-id literal tells providers apart, or null when it does not. */
function comparison(literal: ts.Node): string | null {
  const expr = outermost(literal);
  const parent = expr.parent;
  if (ts.isBinaryExpression(parent) && EQUALITY.has(parent.operatorToken.kind)) return "compared";
  if (ts.isCaseClause(parent) && parent.expression === expr) return "a switch case";
  if (ts.isCallExpression(parent) && parent.arguments.includes(expr as ts.Expression)) {
    const callee = parent.expression;
    if (ts.isPropertyAccessExpression(callee) && COMPARING_METHODS.has(callee.name.text))
      return `an argument of .${callee.name.text}()`;
  }
  if (ts.isArrayLiteralExpression(parent)) {
    const list = outermost(parent);
    const method = calledMethod(list);
    if (method && MEMBERSHIP_METHODS.has(method)) return `in a list tested with .${method}()`;
    if (isCollection(list.parent, /^(Weak)?Set$/)) return "in a Set";
    // a Map entry's key: new Map([["webex", …], …])
    if (
      parent.elements[0] === expr &&
      ts.isArrayLiteralExpression(list.parent) &&
      isCollection(outermost(list.parent).parent, /^(Weak)?Map$/)
    )
      return "a key of a Map";
  }
  if (ts.isPropertyAssignment(parent) && parent.name === expr && ts.isObjectLiteralExpression(parent.parent))
    return "a key of an object";
  return null;
}

function findProviderIdComparisons(source: string, fileName: string, ids: ReadonlySet<string>): Finding[] {
  const kind = fileName.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, kind);
  const found: Finding[] = [];
  const visit = (node: ts.Node) => {
    const text =
      ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)
        ? node.text
        : ts.isIdentifier(node) && ts.isPropertyAssignment(node.parent) && node.parent.name === node
          ? node.text
          : null;
    const why = text !== null && ids.has(text) ? comparison(node) : null;
    if (why)
      found.push({
        line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1,
        text: node.parent.getText(file).slice(0, 120),
        why,
      });
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function libFiles(): string[] {
  const lib = path.join(REPO_ROOT, "lib");
  return (fs.readdirSync(lib, { recursive: true, encoding: "utf8" }) as string[])
    .map((f) => `lib/${f.split(path.sep).join("/")}`)
    .filter((f) => /\.tsx?$/.test(f) && !f.endsWith(".d.ts"))
    .filter((f) => !EXCLUDED.some((x) => (x.endsWith("/") ? f.startsWith(x) : f === x)))
    .sort();
}

describe("providers are data (STYLE.md rule 6)", () => {
  it("no file under lib/ tells providers apart by id", () => {
    const files = libFiles();
    const findings = files.flatMap((f) =>
      findProviderIdComparisons(fs.readFileSync(path.join(REPO_ROOT, f), "utf8"), f, IDS).map(
        (x) => `${f}:${x.line} ${x.why}: ${x.text}`,
      ),
    );
    expect(findings).toEqual([]);
  });

  it("reads every source file under lib/ but the catalogue and the generated client", () => {
    const files = libFiles();
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain("lib/oauth/token-errors.ts");
    expect(files).toContain("lib/tokens/refresh-connection.ts");
    expect(files).not.toContain("lib/providers/catalogue.ts");
    expect(files.filter((f) => f.startsWith("lib/generated/"))).toEqual([]);
  });

  it("knows the catalogue's ids", () => {
    expect(IDS.size).toBeGreaterThanOrEqual(7);
    expect(IDS).toContain("microsoft-365-management");
  });
});

describe("the matcher", () => {
  const match = (source: string) => findProviderIdComparisons(source, "fixture.ts", IDS);

  it.each([
    `if (providerId === "webex") x();`,
    `if (provider.id !== 'zoho-inventory') x();`,
    `if ("hubspot" == p.id) x();`,
    "if (p.id === `backlog`) x();",
    `if ((p.id as string) === ("webex" as const)) x();`,
    `switch (p.id) { case "microsoft-365-management": break; }`,
    `if (["webex", "hubspot"].includes(id)) x();`,
    `if (["webex"].indexOf(id) >= 0) x();`,
    `const QUIRKY = new Set(["zoho-inventory"]);`,
    `const PATHS = new Map([["webex", "/v1/refresh"]]);`,
    `if (enabled.has("generic-oauth2")) x();`,
    `if (p.id.startsWith("backlog")) x();`,
    `if (Object.is(p.id, "webex")) x();`,
    `const refreshPath = { webex: "/v1/refresh", "zoho-inventory": "/oauth/v2/token" }[p.id];`,
    `const ok = p.id === "backlog-api-key" ? a : b;`,
  ])("finds %s", (source) => {
    expect(match(source).length).toBeGreaterThan(0);
  });

  it.each([
    `// providerId === "webex" was special once`,
    `/* case "microsoft-365-management": */ const a = 1;`,
    `const msg = "webex answered 500";`,
    `if (status === "active") x();`,
    `const p = PROVIDERS.get("webex");`,
    `const entry = { id: "webex", name: "Webex" };`,
    `type Id = "webex" | "hubspot";`,
    `const labels = new Map([["x", "webex"]]);`,
    `if (p.id === "webex-like") x();`,
    "const url = `https://webexapis.com/${id}`;",
  ])("leaves %s alone", (source) => {
    expect(match(source)).toEqual([]);
  });

  it("reports the line and the expression", () => {
    expect(match(`const a = 1;\nif (p.id === "webex") x();`)).toEqual([
      { line: 2, text: `p.id === "webex"`, why: "compared" },
    ]);
  });

  it("does not flag the catalogue itself", () => {
    const catalogue = fs.readFileSync(path.join(REPO_ROOT, "lib/providers/catalogue.ts"), "utf8");
    expect(catalogue).toContain(`id: "webex"`);
    expect(findProviderIdComparisons(catalogue, "lib/providers/catalogue.ts", IDS)).toEqual([]);
  });
});
