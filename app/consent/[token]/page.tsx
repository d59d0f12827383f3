import { getFormatter, getTranslations } from "next-intl/server";
import { db } from "@/lib/db/client";
import { findOpenConsentLink } from "@/lib/consent/start-consent";
import { PROVIDERS } from "@/lib/providers/catalogue";

export const dynamic = "force-dynamic";

export async function generateMetadata() {
  return { title: (await getTranslations("consent"))("title") };
}

export default async function ConsentLandingPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const t = await getTranslations("consent");
  const format = await getFormatter();
  const link = await findOpenConsentLink({ db: db(), token });
  if (!link) {
    return (
      <div className="card p-8 text-center">
        <h1 className="text-xl font-semibold">{t("invalidTitle")}</h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">{t("invalidBody")}</p>
      </div>
    );
  }
  const provider = PROVIDERS.get(link.connection.providerId);
  const settings = JSON.parse(link.connection.settings) as Record<string, unknown>;
  const scopes = link.connection.requestedScopes.split(" ").filter(Boolean);
  const resource = provider?.authorizationParams.resource;
  return (
    <div className="card overflow-hidden">
      <div className="border-b border-zinc-200 bg-zinc-50 px-6 py-4 dark:border-zinc-800 dark:bg-zinc-900/60">
        <p className="text-xs font-semibold uppercase tracking-wide text-zinc-500">{t("eyebrow")}</p>
        <h1 className="mt-1 text-xl font-semibold">
          {t("heading", {
            organization: link.organization.name,
            provider: provider?.name ?? link.connection.providerId,
          })}
        </h1>
      </div>
      <div className="space-y-5 px-6 py-5 text-sm">
        <p>{t("explain", { organization: link.organization.name, provider: provider?.name ?? "" })}</p>
        <dl className="space-y-3">
          <div>
            <dt className="font-medium">{t("connection")}</dt>
            <dd className="text-zinc-600 dark:text-zinc-400">{link.connection.name}</dd>
          </div>
          <div>
            <dt className="font-medium">{t("permissions")}</dt>
            <dd>
              <ul className="mt-1 flex flex-wrap gap-1.5">
                {resource ? (
                  <li className="rounded bg-zinc-100 px-2 py-0.5 font-mono text-xs dark:bg-zinc-800">{resource}</li>
                ) : null}
                {scopes.map((s) => (
                  <li key={s} className="rounded bg-zinc-100 px-2 py-0.5 font-mono text-xs dark:bg-zinc-800">
                    {s}
                  </li>
                ))}
                {!resource && scopes.length === 0 ? (
                  <li className="text-zinc-600 dark:text-zinc-400">{t("permissionsAtProvider")}</li>
                ) : null}
              </ul>
            </dd>
          </div>
          {provider?.adminConsent && settings[provider.adminConsent.setting] === provider.adminConsent.value ? (
            <p className="text-zinc-600 dark:text-zinc-400">{t("adminConsentNote")}</p>
          ) : null}
          {provider?.tenantFromAccessToken ? (
            <p className="text-zinc-600 dark:text-zinc-400">{t("tenantAdminNote")}</p>
          ) : null}
        </dl>
        <form method="post" action={`/consent/${token}/start`}>
          <button type="submit" className="btn-primary w-full">
            {t("continue", { provider: provider?.name ?? "" })}
          </button>
        </form>
        <p className="text-xs text-zinc-500">
          {t("expires", { date: format.dateTime(link.expiresAt, { dateStyle: "long", timeStyle: "short" }) })}
        </p>
      </div>
    </div>
  );
}
