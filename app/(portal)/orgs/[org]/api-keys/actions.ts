"use server";
import { revalidatePath } from "next/cache";
import { getTranslations } from "next-intl/server";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { createApiKey, revokeApiKey } from "@/lib/api-keys/create-api-key";

export async function createApiKeyAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const { user, org } = await requireOrg(o.org ?? "", "admin");
    const r = await createApiKey({
      db: db(),
      organizationId: org.id,
      input: {
        name: o.name,
        scopes: form.getAll("scopes").map(String),
        ...(o.expiresAt ? { expiresAt: new Date(`${o.expiresAt}T23:59:59Z`) } : {}),
      },
      actor: { type: "user", id: user.id, label: user.email },
      createdByUserId: user.id,
    });
    revalidatePath(`/orgs/${org.slug}/api-keys`);
    return { ok: true, message: (await getTranslations("apiKeys"))("created"), data: { key: r.key } };
  });
}

export async function revokeApiKeyAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const { user, org } = await requireOrg(o.org ?? "", "admin");
    await revokeApiKey({
      db: db(),
      organizationId: org.id,
      apiKeyId: o.apiKeyId ?? "",
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${org.slug}/api-keys`);
    return { ok: true };
  });
}
