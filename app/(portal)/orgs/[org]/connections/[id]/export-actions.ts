"use server";
// Export of one connection from its page: admin role and up, answered with the encrypted file's text,
// which the form hands to the browser as a download (a server action, so the same-origin checks of
// every other portal form apply).
import { getTranslations } from "next-intl/server";
import { z } from "zod";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { exportConnection } from "@/lib/connections/export-connection";

const ZRef = z.object({ org: z.string().min(1).max(64), connectionId: z.string().min(1).max(64) });

export async function exportConnectionAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const { org, connectionId } = ZRef.parse(o);
    const { user, org: current } = await requireOrg(org, "admin");
    if ((o.passphrase ?? "") !== (o.confirm ?? ""))
      throw new AppError("validation", "The two passphrases differ.", {
        errors: [{ path: "confirm", message: "validation.passphraseMismatch" }],
        i18n: { key: "errors.checkFields" },
      });
    const r = await exportConnection({
      db: db(),
      organizationId: current.id,
      connectionId,
      input: { passphrase: o.passphrase ?? "" },
      actor: { type: "user", id: user.id, label: user.email },
    });
    const t = await getTranslations("connectionExport");
    return {
      ok: true,
      message: t("downloaded", { filename: r.filename }),
      data: { filename: r.filename, content: `${JSON.stringify(r.envelope, null, 2)}\n` },
    };
  });
}
