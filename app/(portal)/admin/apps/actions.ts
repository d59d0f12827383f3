"use server";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireStaff } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";

/** Platform ("embedded") apps: configured by staff, usable by every organization. */
export async function savePlatformOAuthAppAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  let target = "";
  const state = await formAction(async () => {
    const user = await requireStaff();
    const o = formObject(form);
    const app = await saveOAuthApp({
      db: db(),
      organizationId: null,
      appId: o.appId || undefined,
      input: o,
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath("/admin/apps");
    target = `/admin/apps/${app.id}?saved=1`;
    return { ok: true };
  });
  if (state.ok) redirect(target);
  return state;
}
