import { getFormatter, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { WEBHOOK_EVENTS } from "@/lib/webhooks/events";
import { Badge, Card, EmptyState, PageHeader } from "@/app/_components/ui";
import { CreateWebhookForm, DeleteWebhookButton, SendTestEventButton } from "./webhook-forms";

export async function generateMetadata() {
  return { title: (await getTranslations("webhooks"))("title") };
}

export default async function WebhooksPage({ params }: { params: Promise<{ org: string }> }) {
  const { org } = await requireOrg((await params).org, "admin");
  const t = await getTranslations("webhooks");
  const format = await getFormatter();
  const [endpoints, deliveries] = await Promise.all([
    db().webhookEndpoint.findMany({
      where: { organizationId: org.id },
      select: { id: true, url: true, events: true, active: true, createdAt: true },
      orderBy: { createdAt: "asc" },
    }),
    db().webhookDelivery.findMany({
      where: { organizationId: org.id },
      select: {
        id: true,
        eventType: true,
        status: true,
        attempts: true,
        lastStatusCode: true,
        lastError: true,
        createdAt: true,
        deliveredAt: true,
        nextAttemptAt: true,
        endpoint: { select: { url: true } },
      },
      orderBy: { createdAt: "desc" },
      take: 50,
    }),
  ]);
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <div className="grid gap-6 lg:grid-cols-[1fr_24rem]">
        <div className="space-y-6">
          {endpoints.length === 0 ? (
            <EmptyState title={t("emptyTitle")} body={t("emptyBody")} />
          ) : (
            <Card title={t("endpoints")}>
              <ul className="space-y-3 text-sm">
                {endpoints.map((e) => (
                  <li
                    key={e.id}
                    id={`webhook-${e.id}`}
                    className="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between sm:gap-3"
                  >
                    <div className="min-w-0">
                      <p className="break-all font-mono text-xs">{e.url}</p>
                      <p className="text-xs text-zinc-500">{e.events.split(" ").join(", ")}</p>
                    </div>
                    <div className="flex shrink-0 items-start gap-2">
                      <SendTestEventButton org={org.slug} endpointId={e.id} />
                      <DeleteWebhookButton org={org.slug} endpointId={e.id} />
                    </div>
                  </li>
                ))}
              </ul>
            </Card>
          )}
          <Card title={t("log")}>
            {deliveries.length === 0 ? (
              <p className="text-sm text-zinc-500">{t("noDeliveries")}</p>
            ) : (
              <div className="-mx-5 -my-5 overflow-x-auto">
                <table className="data-table">
                  <thead>
                    <tr>
                      <th scope="col">{t("when")}</th>
                      <th scope="col">{t("event")}</th>
                      <th scope="col">{t("state")}</th>
                      <th scope="col">{t("attemptsCol")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {deliveries.map((d) => (
                      <tr key={d.id}>
                        <td className="whitespace-nowrap text-xs">
                          {format.dateTime(d.createdAt, { dateStyle: "short", timeStyle: "medium" })}
                        </td>
                        <td className="font-mono text-xs">{d.eventType}</td>
                        <td>
                          <Badge
                            tone={
                              d.status === "delivered"
                                ? "success"
                                : d.status === "failed"
                                  ? "failure"
                                  : "pending_consent"
                            }
                          >
                            {t(`status.${d.status}`)}
                          </Badge>
                          {d.lastStatusCode && !d.lastError ? (
                            <p className="text-xs text-zinc-500">
                              {t("httpStatus", { status: String(d.lastStatusCode) })}
                            </p>
                          ) : null}
                          {d.lastError ? <p className="text-xs text-red-600">{d.lastError}</p> : null}
                        </td>
                        <td className="text-xs tabular-nums">{d.attempts}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Card>
        </div>
        <Card title={t("add")}>
          <CreateWebhookForm org={org.slug} events={WEBHOOK_EVENTS} />
          <p className="mt-4 text-xs text-zinc-500">{t("signatureHelp")}</p>
        </Card>
      </div>
    </>
  );
}
