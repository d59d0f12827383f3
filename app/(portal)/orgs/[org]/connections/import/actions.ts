"use server";
import { redirect } from "next/navigation";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { importConnection, readExportFile } from "@/lib/connections/import-connection";

/** An export file is a few KiB; anything far larger is not one. */
const MAX_FILE_BYTES = 256 * 1024;

export async function importConnectionAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  let target = "";
  const state = await formAction(async () => {
    const o = formObject(form);
    const { user, org } = await requireOrg(o.org ?? "", "admin");
    const upload = form.get("file");
    if (!(upload instanceof File) || upload.size === 0)
      throw new AppError("validation", "Choose the export file.", {
        errors: [{ path: "file", message: "validation.exportFileRequired" }],
        i18n: { key: "errors.checkFields" },
      });
    if (upload.size > MAX_FILE_BYTES)
      throw new AppError("validation", "That file is too large to be a Consentry export.", {
        errors: [{ path: "file", message: "validation.exportFileDamaged" }],
        i18n: { key: "errors.exportFileDamaged" },
      });
    const r = await importConnection({
      db: db(),
      organizationId: org.id,
      input: {
        file: readExportFile(await upload.text()),
        passphrase: o.passphrase ?? "",
        ...(o.oauthAppId ? { oauth_app_id: o.oauthAppId } : {}),
      },
      actor: { type: "user", id: user.id, label: user.email },
    });
    target = `/orgs/${org.slug}/connections/${r.id}`;
    return { ok: true };
  });
  if (state.ok) redirect(target);
  return state;
}
