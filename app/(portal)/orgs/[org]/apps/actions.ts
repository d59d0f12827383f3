"use server";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";

export async function saveOrgOAuthAppAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  let target = "";
  const state = await formAction(async () => {
    const o = formObject(form);
    const { user, org } = await requireOrg(o.org ?? "", "admin");
    const app = await saveOAuthApp({
      db: db(),
      organizationId: org.id,
      appId: o.appId || undefined,
      input: o,
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${org.slug}/apps`);
    target = `/orgs/${org.slug}/apps/${app.id}?saved=1`;
    return { ok: true };
  });
  if (state.ok) redirect(target);
  return state;
}
