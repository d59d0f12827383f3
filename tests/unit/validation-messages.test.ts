// zod's own English ("Too big: expected string to have <=512 characters") never reaches a person: issues
// without a message key of their own become validation.* keys with their values, translated in both
// languages (forms) and English for the API; URL fields share one set of syntax rules.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createTranslator } from "use-intl";
import en from "@/lib/i18n/messages/en.json";
import ja from "@/lib/i18n/messages/ja.json";
import { fieldErrors } from "@/lib/errors";
import { englishMessage } from "@/lib/i18n/english";
import { urlSyntaxProblem, zUrl } from "@/lib/validation/url-fields";

const issuesOf = (schema: z.ZodType, input: unknown) => {
  const r = schema.safeParse(input);
  if (r.success) throw new Error("expected a refusal");
  return fieldErrors(r.error.issues);
};

describe("zod issues → message keys", () => {
  const S = z.object({
    name: z.string().max(512),
    code: z.string().min(3),
    filled: z.string().min(1),
    tags: z.array(z.string()).min(1).max(2),
    count: z.number().max(10),
    kind: z.enum(["a", "b"]),
    email: z.email(),
    keyed: z.string().max(3, "validation.nameTooLong"),
  });
  const ok = {
    name: "x",
    code: "abc",
    filled: "x",
    tags: ["t"],
    count: 1,
    kind: "a",
    email: "a@b.example",
    keyed: "x",
  };

  it.each([
    [{ name: "x".repeat(513) }, { path: "name", message: "validation.tooLong", values: { max: 512 } }],
    [{ code: "ab" }, { path: "code", message: "validation.tooShort", values: { min: 3 } }],
    [{ filled: "" }, { path: "filled", message: "validation.required" }],
    [{ tags: [] }, { path: "tags", message: "validation.tooFew", values: { min: 1 } }],
    [{ tags: ["a", "b", "c"] }, { path: "tags", message: "validation.tooMany", values: { max: 2 } }],
    [{ count: 11 }, { path: "count", message: "validation.tooBig", values: { max: 10 } }],
    [{ kind: "c" }, { path: "kind", message: "validation.invalidChoice" }],
    [{ email: "nope" }, { path: "email", message: "validation.email" }],
    [{ name: undefined }, { path: "name", message: "validation.required" }],
    [{ count: "1" }, { path: "count", message: "validation.invalidType", values: { expected: "number" } }],
    // a schema's own key is kept
    [{ keyed: "long" }, { path: "keyed", message: "validation.nameTooLong" }],
  ])("%j", (over, want) => {
    expect(issuesOf(S, { ...ok, ...over })).toEqual([want]);
  });

  it("unknown keys of a strict object are named", () => {
    expect(issuesOf(z.object({}).strict(), { a: 1, b: 2 })).toEqual([
      { path: "", message: "validation.unknownKeys", values: { keys: "a, b" } },
    ]);
  });

  it("every key it can produce reads as words in English and Japanese, placeholders filled", () => {
    const keys: Array<[string, Record<string, string | number>]> = [
      ["validation.required", {}],
      ["validation.tooLong", { max: 512 }],
      ["validation.tooShort", { min: 3 }],
      ["validation.tooMany", { max: 2 }],
      ["validation.tooFew", { min: 1 }],
      ["validation.tooBig", { max: 10 }],
      ["validation.tooSmall", { min: 1 }],
      ["validation.invalidType", { expected: "number" }],
      ["validation.invalidChoice", {}],
      ["validation.unknownKeys", { keys: "a" }],
      ["validation.invalidKey", {}],
      ["validation.invalid", {}],
      ["validation.urlNotPublic", { host: "10.0.0.7" }],
      ["validation.urlHostNotFound", { host: "x.example" }],
      ["validation.urlHostTimeout", { host: "x.example" }],
    ];
    for (const [messages, locale] of [
      [en, "en"],
      [ja, "ja"],
    ] as const) {
      const t = createTranslator({ locale, messages });
      for (const [key, values] of keys) {
        const text = t(key as never, values as never) as string;
        expect(text, `${locale} ${key}`).not.toMatch(/\{|validation\./);
        for (const v of Object.values(values)) expect(text).toContain(String(v));
      }
    }
    expect(englishMessage("validation.tooLong", { max: 512 })).toBe("Enter at most 512 characters.");
    expect(englishMessage("not a key")).toBe("not a key");
  });
});

describe("URL fields: one set of rules", () => {
  it.each([
    ["https://as.example/token", "outbound", null],
    ["http://127.0.0.1:9/token", "outbound", null],
    ["javascript:alert(1)", "outbound", "validation.url"],
    ["ftp://x/", "outbound", "validation.url"],
    ["not a url", "outbound", "validation.url"],
    ["https://u:p@as.example/", "outbound", "validation.urlCredentials"],
    ["https://as.example/#x", "outbound", "validation.urlFragment"],
    ["https://as.example/#", "outbound", "validation.urlFragment"],
    ["https://app.example/cb", "redirect", null],
    ["http://localhost/cb", "redirect", null],
    ["http://app.example/cb", "redirect", "validation.redirectUri"],
    ["javascript:alert(1)", "redirect", "validation.redirectUri"],
    ["https://app.example/cb#x", "redirect", "validation.urlFragment"],
  ] as const)("%s as %s → %s", (url, kind, want) => {
    expect(urlSyntaxProblem(url, kind)).toBe(want);
  });

  it("trims, and refuses more than 2048 characters", () => {
    expect(zUrl().parse("  https://as.example/x  ")).toBe("https://as.example/x");
    expect(issuesOf(zUrl(), `https://as.example/${"x".repeat(2048)}`)).toEqual([
      { path: "", message: "validation.tooLong", values: { max: 2048 } },
    ]);
  });
});
