// Validates a connection's provider settings against the provider's declared settings.
import { z } from "zod";
import type { TProvider, TSetting } from "@/lib/providers/schema";
import { AppError, fieldErrors } from "@/lib/errors";
import { zUrl } from "@/lib/validation/url-fields";

/** Parameters Consentry sets itself; a customer's extra authorization parameters may not override them. */
const RESERVED_PARAMS = new Set([
  "response_type",
  "client_id",
  "redirect_uri",
  "state",
  "scope",
  "code_challenge",
  "code_challenge_method",
  "nonce",
  "client_secret",
]);

/** Headers Consentry sets or a hop may act on: a `headers` setting may not name them. */
const RESERVED_HEADERS = new Set([
  "authorization",
  "host",
  "cookie",
  "connection",
  "content-length",
  "content-type",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "keep-alive",
  "expect",
  "accept-encoding",
  "forwarded",
]);

function isReservedHeader(name: string): boolean {
  const k = name.toLowerCase();
  return RESERVED_HEADERS.has(k) || /^(proxy-|x-forwarded-|consentry-)/.test(k);
}

function settingSchema(s: TSetting): z.ZodType {
  switch (s.type) {
    case "url":
      return zUrl("outbound");
    case "host":
      return z
        .string()
        .trim()
        .toLowerCase()
        .max(253)
        .regex(new RegExp(s.pattern ?? "^[a-z0-9.-]+$"), "validation.host");
    case "enum":
      return z.enum((s.options ?? []) as [string, ...string[]]);
    case "boolean":
      return z.union([
        z.boolean(),
        z.enum(["true", "false", "on", "off"]).transform((v) => v === "true" || v === "on"),
      ]);
    case "key_values":
      if (s.headers)
        return z
          .record(
            z
              .string()
              .regex(/^[A-Za-z0-9-]{1,64}$/, "validation.headerName")
              .refine((k) => !isReservedHeader(k), "validation.reservedHeader"),
            z
              .string()
              .max(1024)
              .regex(/^[\x20-\x7e\t]*$/, "validation.headerValue"),
            { error: (iss) => (iss.code === "invalid_key" ? "validation.headerName" : undefined) },
          )
          .refine((o) => Object.keys(o).length <= 20, "validation.tooManyParams");
      return (
        z
          // zod reports a bad record key as "Invalid key in record" unless told otherwise
          .record(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "validation.paramName"), z.string().max(512), {
            error: (iss) => (iss.code === "invalid_key" ? "validation.paramName" : undefined),
          })
          .refine((o) => Object.keys(o).length <= 20, "validation.tooManyParams")
          .refine((o) => Object.keys(o).every((k) => !RESERVED_PARAMS.has(k)), "validation.reservedParam")
      );
    case "string":
    default:
      return z
        .string()
        .trim()
        .max(512)
        .regex(new RegExp(s.pattern ?? "^[\\s\\S]*$"), "validation.format");
  }
}

export function providerSettingsSchema(provider: TProvider) {
  const shape: Record<string, z.ZodType> = {};
  for (const s of provider.settings) {
    let schema = settingSchema(s);
    if (!s.required) schema = z.preprocess((v) => (v === "" || v === null ? undefined : v), schema.optional());
    if (s.default !== undefined)
      schema = z.preprocess((v) => (v === "" || v === undefined || v === null ? s.default : v), settingSchema(s));
    shape[s.key] = schema;
  }
  return z.object(shape).strict();
}

/** Parsed settings with defaults filled in; AppError("validation") with `settings.<key>` paths otherwise. */
export function parseProviderSettings(provider: TProvider, input: unknown): Record<string, unknown> {
  const parsed = providerSettingsSchema(provider).safeParse(input ?? {});
  if (!parsed.success) {
    throw new AppError("validation", "Check the connection settings.", {
      errors: fieldErrors(parsed.error.issues.map((i) => ({ ...i, path: ["settings", ...i.path] }))),
      i18n: { key: "errors.checkFields" },
    });
  }
  return Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
}

/** The settings that carry URLs a customer typed (checked against the egress policy at save time). */
export function customerUrls(
  provider: TProvider,
  settings: Record<string, unknown>,
): Array<{ key: string; url: string }> {
  return provider.settings
    .filter((s) => s.type === "url" && typeof settings[s.key] === "string")
    .map((s) => ({ key: s.key, url: settings[s.key] as string }));
}
