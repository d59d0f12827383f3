import Link from "next/link";
import { cookies } from "next/headers";
import { getTranslations } from "next-intl/server";
import { RESULT_COOKIE, readConsentResult } from "@/lib/consent/result-cookie";
import { safeReturnTo } from "@/lib/http/safe-return-to";
import { ConnectNotifier } from "@/app/connect/_components/connect-notifier";

export const dynamic = "force-dynamic";

export async function generateMetadata() {
  return { title: (await getTranslations("consentResult"))("title") };
}

export default async function ConsentResultPage() {
  const t = await getTranslations("consentResult");
  const result = await readConsentResult((await cookies()).get(RESULT_COOKIE)?.value);
  if (!result) {
    return (
      <div className="card p-8 text-center">
        <h1 className="text-xl font-semibold">{t("noneTitle")}</h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">{t("noneBody")}</p>
      </div>
    );
  }
  const back = result.returnTo ? safeReturnTo(result.returnTo) : null;
  // a connect session: the integrator's page hears the result (popup) or is returned to (redirect)
  const notifier = result.connect ? <ConnectNotifier notice={result.connect} /> : null;
  const ending = result.connect
    ? t(result.connect.mode === "popup" ? "connectPopupEnding" : "connectRedirectEnding")
    : t("closeTab");
  if (result.ok) {
    return (
      <div className="card p-8 text-center" data-testid="consent-result" data-outcome="connected">
        <div
          aria-hidden
          className="mx-auto mb-4 flex h-12 w-12 items-center justify-center rounded-full bg-emerald-100 text-2xl text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300"
        >
          ✓
        </div>
        <h1 className="text-xl font-semibold">
          {result.tenantId
            ? t("connectedTenant", { name: result.tenantLabel ?? result.connectionName ?? "", tenant: result.tenantId })
            : t("connected", { name: result.providerName ?? "" })}
        </h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          {t("connectedBody", { organization: result.organizationName ?? "", provider: result.providerName ?? "" })}
        </p>
        {back ? (
          <Link href={back} className="btn-primary mt-6">
            {t("back")}
          </Link>
        ) : (
          <p className="mt-6 text-sm text-zinc-500">{ending}</p>
        )}
        {notifier}
      </div>
    );
  }
  const reason = result.reason ?? "unknown";
  return (
    <div className="card p-8" data-testid="consent-result" data-outcome="failed" data-reason={reason}>
      <h1 className="text-xl font-semibold">{t("failedTitle")}</h1>
      <p className="mt-3 text-sm">
        {t.has(`reasons.${reason}`)
          ? t(`reasons.${reason}`, { provider: result.providerName ?? "" })
          : t("reasons.unknown")}
      </p>
      {result.providerError ? (
        <div className="mt-4 rounded-md bg-zinc-100 p-3 text-xs dark:bg-zinc-800">
          <p>
            <span className="font-semibold">{t("providerSaid")}</span> <code>{result.providerError}</code>
          </p>
          {result.providerDescription ? (
            <p className="mt-1 break-words font-mono">{result.providerDescription}</p>
          ) : null}
        </div>
      ) : null}
      <p className="mt-4 text-sm text-zinc-600 dark:text-zinc-400">
        {t("nextStep", { organization: result.organizationName ?? t("theRequester") })}
      </p>
      {back ? (
        <Link href={back} className="btn-secondary mt-6">
          {t("back")}
        </Link>
      ) : result.connect ? (
        <p className="mt-4 text-sm text-zinc-500">{ending}</p>
      ) : null}
      {notifier}
    </div>
  );
}
