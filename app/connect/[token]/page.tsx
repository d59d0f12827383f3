// GET /connect/{token} — the hosted connect page an integrator opens with connect.js (popup or
// redirect): the same landing as a consent link, or, for a session used, expired or revoked, a clear
// page that also tells the opener (at an allowed origin only) that it ended in error.
import { headers } from "next/headers";
import { getTranslations } from "next-intl/server";
import { db } from "@/lib/db/client";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { clientIp } from "@/lib/http/client-ip";
import {
  closedReason,
  findSessionByToken,
  markOpened,
  reportOf,
  resultOf,
} from "@/lib/connect-sessions/connect-session";
import { ConsentLanding } from "@/app/consent/_components/consent-landing";
import { ConnectNotifier } from "@/app/connect/_components/connect-notifier";

export const dynamic = "force-dynamic";

export async function generateMetadata() {
  return { title: (await getTranslations("consent"))("title") };
}

export default async function ConnectPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ mode?: string }>;
}) {
  const { token } = await params;
  const popup = (await searchParams).mode === "popup";
  const t = await getTranslations("connectPage");
  const session = await findSessionByToken(db(), token);
  const closed = session ? closedReason(session) : "unknown";
  if (!session || closed) {
    const result = session ? resultOf(session) : null;
    // a session that ended in error says why; otherwise it was used, expired or revoked
    const error = (result?.status === "error" ? result.error : null) ?? closed ?? "unknown";
    return (
      <div className="card p-8 text-center" data-testid="connect-closed" data-reason={error}>
        <h1 className="text-xl font-semibold">{t("closedTitle")}</h1>
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
          {t.has(`closed.${closed}`) ? t(`closed.${closed}`) : t("closed.unknown")}
        </p>
        {session ? (
          <ConnectNotifier
            notice={{
              ...reportOf(session, { status: "error", connectionId: session.connectionId, tenantId: null, error }),
              mode: popup ? "popup" : "redirect",
            }}
          />
        ) : null}
      </div>
    );
  }
  await markOpened(db(), session, clientIp(await headers()));
  const organization = await db().organization.findUniqueOrThrow({
    where: { id: session.organizationId },
    select: { name: true },
  });
  const provider = PROVIDERS.get(session.providerId);
  let name = "";
  let scopes: string[] = provider?.defaultScopes ?? [];
  let settings: Record<string, unknown> = {};
  if (session.connectionId) {
    const c = await db().connection.findFirstOrThrow({
      where: { id: session.connectionId, organizationId: session.organizationId },
      select: { name: true, requestedScopes: true, settings: true },
    });
    name = c.name;
    scopes = c.requestedScopes.split(" ").filter(Boolean);
    settings = JSON.parse(c.settings) as Record<string, unknown>;
  } else {
    const n = JSON.parse(session.newConnection ?? "{}") as {
      name?: string;
      scopes?: string[];
      settings?: Record<string, unknown>;
    };
    name = n.name ?? "";
    scopes = n.scopes ?? scopes;
    settings = n.settings ?? {};
  }
  return (
    // called, not rendered as <ConsentLanding/>: the page's tree stays synchronous once awaited
    await ConsentLanding({
      organizationName: organization.name,
      providerId: session.providerId,
      connectionName: name,
      scopes: scopes,
      settings: settings,
      expiresAt: session.expiresAt,
      action: `/connect/${token}/start${popup ? "?mode=popup" : ""}`,
      expiresKey: "connectExpires",
    })
  );
}
