"use server";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";
import { requireStaff } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { createOrganization } from "@/lib/organizations/create-organization";

export async function createOrganizationAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  let slug = "";
  const state = await formAction(async () => {
    const user = await requireStaff();
    const input = formObject(form);
    const org = await createOrganization({
      db: db(),
      input,
      ownerUserId: input.joinAsOwner === "on" ? user.id : undefined,
      actor: { type: "user", id: user.id, label: user.email },
    });
    slug = org.slug;
    return { ok: true };
  });
  if (state.ok) {
    // the shell's organization switcher (the portal's layout) lists the new organization at once
    revalidatePath("/", "layout");
    redirect(`/orgs/${slug}`);
  }
  return state;
}
