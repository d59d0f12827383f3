import { getFormatter, getTranslations } from "next-intl/server";
import { CopyButton } from "@/app/_components/copy-button";
import { Card } from "@/app/_components/ui";
import type { getOAuthApp } from "@/lib/oauth-apps/get-oauth-app";

type App = NonNullable<Awaited<ReturnType<typeof getOAuthApp>>>;

/**
 * What to register at the provider: the redirect URI, for certificates the Azure manifest entry, and
 * for Microsoft apps the app instance property lock (servicePrincipalLockConfiguration).
 */
export async function OAuthAppDetails({ app, redirectUri }: { app: App; redirectUri: string }) {
  const t = await getTranslations("appForm");
  const format = await getFormatter();
  return (
    <div className="space-y-6">
      {app.alert ? (
        <p
          role="alert"
          className="rounded-md bg-red-50 px-4 py-3 text-sm text-red-800 dark:bg-red-950 dark:text-red-200"
        >
          {t("alert")} <code>{app.alert.code}</code> {app.alert.message}
        </p>
      ) : null}
      <Card title={t("registerTitle")}>
        <p className="mb-2 text-sm text-zinc-600 dark:text-zinc-400">{t("registerBody")}</p>
        <div className="flex items-center gap-2">
          <code className="break-all rounded bg-zinc-100 px-2 py-1 text-xs dark:bg-zinc-800" data-testid="redirect-uri">
            {app.redirectUri ?? redirectUri}
          </code>
          <CopyButton value={app.redirectUri ?? redirectUri} />
        </div>
        <p className="mt-3 text-xs text-zinc-500">{app.clientSecretSet ? t("secretStored") : t("noSecretStored")}</p>
      </Card>
      {app.certificate ? (
        <Card title={t("manifestTitle")}>
          <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">{t("manifestBody")}</p>
          <dl className="mb-3 grid grid-cols-[10rem_1fr] gap-y-1 text-xs">
            <dt className="text-zinc-500">{t("subject")}</dt>
            <dd className="font-mono">{app.certificate.subject}</dd>
            <dt className="text-zinc-500">{t("thumbprint")}</dt>
            <dd className="break-all font-mono" data-testid="thumbprint">
              {app.certificate.thumbprintHex}
            </dd>
            <dt className="text-zinc-500">
              <code>x5t</code>
            </dt>
            <dd className="break-all font-mono">{app.certificate.x5t}</dd>
            <dt className="text-zinc-500">
              <code>keyId</code>
            </dt>
            <dd className="font-mono">{app.certificate.keyId}</dd>
            <dt className="text-zinc-500">{t("validUntil")}</dt>
            <dd>{format.dateTime(app.certificate.notAfter, { dateStyle: "long" })}</dd>
          </dl>
          <div className="relative">
            <pre
              className="max-h-64 overflow-auto rounded bg-zinc-900 p-3 text-xs text-zinc-100"
              data-testid="manifest"
            >
              {app.certificate.manifest}
            </pre>
            <div className="absolute right-2 top-2">
              <CopyButton value={app.certificate.manifest} />
            </div>
          </div>
          <details className="mt-3 text-xs">
            <summary className="cursor-pointer">{t("publicCertificate")}</summary>
            <pre className="mt-2 overflow-auto rounded bg-zinc-100 p-2 dark:bg-zinc-800">
              {app.certificate.certificatePem}
            </pre>
          </details>
        </Card>
      ) : null}
      {app.servicePrincipalLock ? (
        <Card title={t("lockTitle")}>
          <p className="mb-2 text-sm text-zinc-600 dark:text-zinc-400">{t("lockBody")}</p>
          <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">{t("lockDefault")}</p>
          <div className="relative">
            <pre
              className="max-h-64 overflow-auto rounded bg-zinc-900 p-3 text-xs text-zinc-100"
              data-testid="service-principal-lock"
            >
              {app.servicePrincipalLock}
            </pre>
            <div className="absolute right-2 top-2">
              <CopyButton value={app.servicePrincipalLock} />
            </div>
          </div>
          <p className="mt-3 text-xs text-zinc-500">{t("lockGraph")}</p>
        </Card>
      ) : null}
    </div>
  );
}
