"use server";
import { revalidatePath } from "next/cache";
import { getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { createWebhookEndpoint, deleteWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";

export async function createWebhookAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const { user, org } = await requireOrg(o.org ?? "", "admin");
    const r = await createWebhookEndpoint({
      db: db(),
      organizationId: org.id,
      input: { url: o.url, events: form.getAll("events").map(String) },
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${org.slug}/webhooks`);
    return { ok: true, message: (await getTranslations("webhooks"))("created"), data: { secret: r.secret } };
  });
}

export async function deleteWebhookAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const { user, org } = await requireOrg(o.org ?? "", "admin");
    await deleteWebhookEndpoint({
      db: db(),
      organizationId: org.id,
      endpointId: o.endpointId ?? "",
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${org.slug}/webhooks`);
    return { ok: true };
  });
}
