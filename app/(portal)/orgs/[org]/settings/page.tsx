import { getFormatter, getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { roleAtLeast } from "@/lib/auth/roles";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { Badge, Card, PageHeader } from "@/app/_components/ui";
import { AddMemberForm, ChangeRoleForm, RemoveMemberButton, RenameForm } from "./settings-forms";

export async function generateMetadata() {
  return { title: (await getTranslations("settings"))("title") };
}

export default async function SettingsPage({ params }: { params: Promise<{ org: string }> }) {
  const { org, role } = await requireOrg((await params).org);
  const t = await getTranslations("settings");
  const tr = await getTranslations("roles");
  const format = await getFormatter();
  const canManage = roleAtLeast(role, "admin");
  const [members, invitations] = await Promise.all([
    db().membership.findMany({
      where: { organizationId: org.id },
      select: { id: true, role: true, createdAt: true, user: { select: { email: true, name: true } } },
      orderBy: { createdAt: "asc" },
    }),
    db().invitation.findMany({
      where: { organizationId: org.id, acceptedAt: null },
      select: { id: true, email: true, role: true, expiresAt: true },
      orderBy: { createdAt: "desc" },
    }),
  ]);
  return (
    <>
      <PageHeader title={t("title")} description={t("description")} />
      <div className="space-y-6">
        <Card title={t("general")}>
          {canManage ? (
            <RenameForm org={org.slug} name={org.name} />
          ) : (
            <dl className="text-sm">
              <dt className="text-zinc-500">{t("name")}</dt>
              <dd className="font-medium">{org.name}</dd>
            </dl>
          )}
          <p className="mt-3 text-xs text-zinc-500">
            {t("address")} <span className="font-mono">{org.slug}</span>
          </p>
        </Card>
        <Card title={t("members")}>
          <div className="-mx-5 -mt-5 overflow-x-auto">
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">{t("person")}</th>
                  <th scope="col">{t("role")}</th>
                  <th scope="col">{t("since")}</th>
                  {canManage ? (
                    <th scope="col">
                      <span className="sr-only">{t("actions")}</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody>
                {members.map((m) => (
                  <tr key={m.id}>
                    <td>
                      <p className="font-medium" translate="no">
                        {m.user.name ?? m.user.email}
                      </p>
                      {m.user.name ? <p className="text-xs text-zinc-500">{m.user.email}</p> : null}
                    </td>
                    <td>
                      {/* admins manage members and admins; owners also owners (lib/users/change-member-role.ts) */}
                      {canManage && (m.role !== "owner" || role === "owner") ? (
                        <ChangeRoleForm
                          org={org.slug}
                          membershipId={m.id}
                          email={m.user.email}
                          role={m.role}
                          canSetOwner={role === "owner"}
                        />
                      ) : (
                        <Badge tone={m.role === "owner" ? "active" : "revoked"}>{tr(m.role)}</Badge>
                      )}
                    </td>
                    <td className="text-xs">{format.dateTime(m.createdAt, { dateStyle: "medium" })}</td>
                    {canManage ? (
                      <td className="text-right">
                        <RemoveMemberButton
                          org={org.slug}
                          membershipId={m.id}
                          label={t("remove")}
                          confirm={t("removeConfirm", { email: m.user.email })}
                        />
                      </td>
                    ) : null}
                  </tr>
                ))}
                {invitations.map((i) => (
                  <tr key={i.id}>
                    <td>
                      <p className="font-medium">{i.email}</p>
                      <p className="text-xs text-zinc-500">
                        {t("invitedUntil", { date: format.dateTime(i.expiresAt, { dateStyle: "medium" }) })}
                      </p>
                    </td>
                    <td>
                      <Badge tone="pending_consent">{tr(i.role)}</Badge>
                    </td>
                    <td className="text-xs">{t("pending")}</td>
                    {canManage ? <td /> : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {canManage ? (
            <div className="mt-6 border-t border-zinc-200 pt-5 dark:border-zinc-800">
              <h3 className="mb-3 text-sm font-semibold">{t("addMember")}</h3>
              <AddMemberForm org={org.slug} canAddOwner={role === "owner"} localLogin={env().localLogin} />
            </div>
          ) : null}
        </Card>
      </div>
    </>
  );
}
