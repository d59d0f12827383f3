"use server";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";
import { getTranslations } from "next-intl/server";
import { requireUser } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { changePassword } from "@/lib/users/change-password";

/** Both the change-password page and the first sign-in's "choose your password" page. */
export async function changePasswordAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  let wasRequired = false;
  const state = await formAction(async () => {
    const user = await requireUser({ choosingPassword: true });
    const o = formObject(form);
    const r = await changePassword({
      db: db(),
      userId: user.id,
      input: {
        currentPassword: o.currentPassword ?? "",
        newPassword: o.newPassword ?? "",
        confirmPassword: o.confirmPassword ?? "",
      },
      actor: { type: "user", id: user.id, label: user.email },
    });
    wasRequired = r.wasRequired;
    return { ok: true, message: (await getTranslations("account"))("changed") };
  });
  if (state.ok && wasRequired) {
    // the portal opens for them now: its shell (organization list included) is rendered afresh
    revalidatePath("/", "layout");
    redirect("/");
  }
  return state;
}
