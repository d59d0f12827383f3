// The landing a data owner sees before approving at the provider (consent links and connect sessions
// alike): who asks, for which provider, which permissions, one "Continue" that starts the flow.
import { getFormatter, getTranslations } from "next-intl/server";
import { PROVIDERS, providerDisplayName } from "@/lib/providers/catalogue";

export async function ConsentLanding({
  organizationName,
  providerId,
  connectionName,
  scopes,
  settings,
  expiresAt,
  action,
  expiresKey = "expires",
}: {
  organizationName: string;
  providerId: string;
  connectionName: string;
  scopes: string[];
  settings: Record<string, unknown>;
  expiresAt: Date;
  /** where "Continue" posts */
  action: string;
  expiresKey?: "expires" | "connectExpires";
}) {
  const t = await getTranslations("consent");
  const format = await getFormatter();
  const provider = PROVIDERS.get(providerId);
  const tp = await getTranslations("providerNames");
  // the host the organization named (generic providers), else the catalogue's name in this language
  const displayed = providerDisplayName(providerId, settings);
  const providerName = displayed === provider?.name && tp.has(providerId) ? tp(providerId) : displayed;
  const resource = provider?.authorizationParams.resource;
  return (
    <div className="card overflow-hidden">
      <div className="border-b border-zinc-200 bg-zinc-50 px-6 py-4 dark:border-zinc-800 dark:bg-zinc-900/60">
        <p className="text-xs font-semibold uppercase tracking-wide text-zinc-500">{t("eyebrow")}</p>
        <h1 className="mt-1 text-xl font-semibold">
          {t("heading", {
            organization: organizationName,
            provider: providerName,
          })}
        </h1>
      </div>
      <div className="space-y-5 px-6 py-5 text-sm">
        <p>{t("explain", { organization: organizationName, provider: providerName })}</p>
        <dl className="space-y-3">
          <div>
            <dt className="font-medium">{t("connection")}</dt>
            <dd className="text-zinc-600 dark:text-zinc-400">{connectionName}</dd>
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
        <form method="post" action={action}>
          <button type="submit" className="btn-primary w-full">
            {t("continue", { provider: providerName })}
          </button>
        </form>
        <p className="text-xs text-zinc-500">
          {t(expiresKey, { date: format.dateTime(expiresAt, { dateStyle: "long", timeStyle: "short" }) })}
        </p>
      </div>
    </div>
  );
}
