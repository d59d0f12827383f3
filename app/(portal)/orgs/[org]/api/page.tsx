// The API reference, rendered from the same OpenAPI document the API serves.
import { getLocale, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { buildOpenApiDocument } from "@/lib/api/openapi";
import { env } from "@/lib/env";
import { CopyButton } from "@/app/_components/copy-button";
import { Badge, PageHeader } from "@/app/_components/ui";
import openApiJa from "@/lib/i18n/openapi/ja.json";

type OpTexts = Record<string, { summary: { en: string; ja: string }; description?: { en: string; ja: string } }>;

/**
 * An operation's text in the reader's language. The OpenAPI document stays English; the Japanese
 * is kept with the English it was made from, and shown only while that English is still the
 * document's (a changed description falls back to English until it is translated again;
 * tests/unit/untranslated.test.ts fails meanwhile).
 */
/** `code` spans of the OpenAPI text as code, the rest as prose. */
function withCode(text: string): React.ReactNode[] {
  return text.split("`").map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part));
}

function localized(locale: string, id: string, field: "summary" | "description", english: string): string {
  const entry = locale === "ja" ? (openApiJa as OpTexts)[id]?.[field] : undefined;
  return entry && entry.en === english ? entry.ja : english;
}

type Op = {
  operationId: string;
  summary: string;
  description?: string;
  "x-required-scope": string;
  parameters: Array<{ name: string; in: string; required: boolean }>;
  requestBody?: unknown;
  responses: Record<string, { description: string }>;
};

const EXAMPLE_BODIES: Record<string, string> = {
  createConnection: JSON.stringify({
    provider: "generic-oauth2",
    name: "HubSpot via generic",
    settings: {
      authorization_url: "https://app.hubspot.com/oauth/authorize",
      token_url: "https://api.hubapi.com/oauth/v1/token",
    },
    scopes: ["crm.objects.contacts.read"],
    oauth_app: { client_id: "…", client_secret: "…" },
  }),
  getToken: JSON.stringify({ min_validity: 300 }),
};

function curl(base: string, method: string, path: string, op: Op): string {
  const url = `${base}${path.replace("{id}", "$CONNECTION_ID").replace("{path}", "$PROVIDER_PATH")}`;
  const lines = [`curl -sS -X ${method.toUpperCase()} "${url}"`, `  -H "Authorization: Bearer $CONSENTRY_API_KEY"`];
  if (op.requestBody)
    lines.push(`  -H "Content-Type: application/json"`, `  -d '${EXAMPLE_BODIES[op.operationId] ?? "{}"}'`);
  return lines.join(" \\\n");
}

export async function generateMetadata() {
  return { title: (await getTranslations("apiReference"))("title") };
}

export default async function ApiReferencePage({ params }: { params: Promise<{ org: string }> }) {
  await requireOrg((await params).org);
  const t = await getTranslations("apiReference");
  const locale = await getLocale();
  const doc = buildOpenApiDocument();
  const base = env().publicUrl;
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <p className="mb-6 text-sm">
        <a href="/api/v1/openapi.json" className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
          <code>/api/v1/openapi.json</code>
        </a>{" "}
        · {t("auth")}
      </p>
      <div className="space-y-4">
        {Object.entries(doc.paths).flatMap(([path, ops]) =>
          Object.entries(ops as Record<string, Op>).map(([method, op]) => {
            const example = curl(base, method, path, op);
            return (
              <section key={`${method} ${path}`} className="card p-5" aria-labelledby={op.operationId}>
                <div className="flex flex-wrap items-center gap-2">
                  <Badge tone={method === "get" ? "active" : method === "delete" ? "failure" : "pending_consent"}>
                    <span translate="no">{method.toUpperCase()}</span>
                  </Badge>
                  <code id={op.operationId} className="min-w-0 font-mono text-sm font-semibold break-all">
                    {path}
                  </code>
                  <span className="ml-auto font-mono text-xs text-zinc-500">{op["x-required-scope"]}</span>
                </div>
                <p className="mt-2 text-sm font-medium">
                  {withCode(localized(locale, op.operationId, "summary", op.summary))}
                </p>
                {op.description ? (
                  <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
                    {withCode(localized(locale, op.operationId, "description", op.description))}
                  </p>
                ) : null}
                <p className="mt-2 text-xs text-zinc-500">
                  {t("responses")} <code>{Object.keys(op.responses).join(", ")}</code>
                </p>
                <div className="relative mt-3">
                  {/* focusable: a keyboard can scroll a long example (axe scrollable-region-focusable) */}
                  <pre tabIndex={0} className="overflow-x-auto rounded bg-zinc-900 p-3 text-xs text-zinc-100">
                    {example}
                  </pre>
                  <div className="absolute right-2 top-2">
                    <CopyButton value={example} />
                  </div>
                </div>
              </section>
            );
          }),
        )}
      </div>
    </>
  );
}
