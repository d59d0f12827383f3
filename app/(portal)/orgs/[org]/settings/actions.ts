"use server";
import { revalidatePath } from "next/cache";
import { getTranslations } from "next-intl/server";
import { z } from "zod";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError, fieldErrors } from "@/lib/errors";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { addMember } from "@/lib/users/add-member";
import { renameOrganization } from "@/lib/organizations/rename-organization";
import { removeMember } from "@/lib/users/remove-member";
import { changeMemberRole } from "@/lib/users/change-member-role";

const ZSlug = z.object({ org: z.string().min(1).max(64) });

export async function renameOrganizationAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const { org: slug } = ZSlug.parse(formObject(form));
    const { user, org } = await requireOrg(slug, "admin");
    await renameOrganization({
      db: db(),
      organizationId: org.id,
      input: formObject(form),
      actor: { type: "user", id: user.id, label: user.email },
    });
    // the shell's organization switcher (the portal's layout) shows the new name at once
    revalidatePath("/", "layout");
    return { ok: true, message: (await getTranslations("settings"))("renamed") };
  });
}

export async function addMemberAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const { org: slug } = ZSlug.parse(formObject(form));
    const { user, org, role } = await requireOrg(slug, "admin");
    const input = formObject(form);
    if (input.role === "owner" && role !== "owner") {
      throw new AppError("forbidden", "Only owners can add owners.", { i18n: { key: "errors.ownerOnly" } });
    }
    const r = await addMember({
      db: db(),
      organizationId: org.id,
      input,
      actor: { type: "user", id: user.id, label: user.email },
      localLogin: env().localLogin,
    });
    revalidatePath(`/orgs/${org.slug}/settings`);
    const t = await getTranslations("settings");
    if (r.password)
      return { ok: true, message: t("memberCreated", { email: r.email }), data: { password: r.password } };
    return {
      ok: true,
      message: r.kind === "member" ? t("memberAdded", { email: r.email }) : t("memberInvited", { email: r.email }),
    };
  });
}

const ZRemove = z.object({ org: z.string().min(1), membershipId: z.string().min(1).max(64) });

export async function removeMemberAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const parsed = ZRemove.safeParse(formObject(form));
    if (!parsed.success)
      throw new AppError("validation", "Invalid request", {
        errors: fieldErrors(parsed.error.issues),
        i18n: { key: "errors.checkFields" },
      });
    const { user, org, role } = await requireOrg(parsed.data.org, "admin");
    await removeMember({
      db: db(),
      organizationId: org.id,
      membershipId: parsed.data.membershipId,
      actingRole: role,
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${org.slug}/settings`);
    return { ok: true, message: (await getTranslations("settings"))("memberRemoved") };
  });
}

const ZRoleChange = z.object({ org: z.string().min(1).max(64), membershipId: z.string().min(1).max(64) });

export async function changeMemberRoleAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const parsed = ZRoleChange.safeParse(o);
    if (!parsed.success)
      throw new AppError("validation", "Invalid request", {
        errors: fieldErrors(parsed.error.issues),
        i18n: { key: "errors.checkFields" },
      });
    const { user, org, role } = await requireOrg(parsed.data.org, "admin");
    const r = await changeMemberRole({
      db: db(),
      organizationId: org.id,
      membershipId: parsed.data.membershipId,
      role: o.role,
      actingRole: role,
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${org.slug}/settings`);
    const t = await getTranslations("settings");
    const tr = await getTranslations("roles");
    return { ok: true, message: t("roleChanged", { role: tr(r.role) }) };
  });
}
