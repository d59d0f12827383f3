"use server";
import { revalidatePath } from "next/cache";
import { getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { createWebhookEndpoint, deleteWebhookEndpoint } from "@/lib/webhooks/create-webhook-endpoint";
import { sendTestWebhookEvent } from "@/lib/webhooks/send-test-event";

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

/** The reason a delivery failed ("HTTP 500", an egress error code) in the reader's language. */
async function failureReason(error: string | null) {
  const t = await getTranslations("webhooks");
  const http = /^HTTP (\d{3})$/.exec(error ?? "");
  if (http) return t("failure.http", { status: http[1]! });
  const key = `failure.${error ?? "unknown"}`.replace(/ /g, "_");
  return t.has(key) ? t(key) : t("failure.unknown");
}

export async function sendTestEventAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const { user, org } = await requireOrg(o.org ?? "", "admin");
    const r = await sendTestWebhookEvent({
      db: db(),
      organizationId: org.id,
      endpointId: o.endpointId ?? "",
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${org.slug}/webhooks`);
    const t = await getTranslations("webhooks");
    if (r.status === "delivered")
      return { ok: true, message: t("testDelivered", { status: String(r.statusCode ?? "") }) };
    return { ok: false, message: t("testFailed", { reason: await failureReason(r.error) }) };
  });
}
