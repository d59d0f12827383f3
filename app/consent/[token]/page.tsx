import { getTranslations } from "next-intl/server";
import { db } from "@/lib/db/client";
import { findOpenConsentLink } from "@/lib/consent/start-consent";
import { ConsentLanding } from "@/app/consent/_components/consent-landing";

export const dynamic = "force-dynamic";

export async function generateMetadata() {
  return { title: (await getTranslations("consent"))("title") };
}

export default async function ConsentLandingPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const t = await getTranslations("consent");
  const link = await findOpenConsentLink({ db: db(), token });
  if (!link) {
    return (
      <div className="card p-8 text-center">
        <h1 className="text-xl font-semibold">{t("invalidTitle")}</h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">{t("invalidBody")}</p>
      </div>
    );
  }
  return (
    // called, not rendered as <ConsentLanding/>: the page's tree stays synchronous once awaited
    await ConsentLanding({
      organizationName: link.organization.name,
      providerId: link.connection.providerId,
      connectionName: link.connection.name,
      scopes: link.connection.requestedScopes.split(" ").filter(Boolean),
      settings: JSON.parse(link.connection.settings) as Record<string, unknown>,
      expiresAt: link.expiresAt,
      action: `/consent/${token}/start`,
    })
  );
}
