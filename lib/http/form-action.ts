// The one way server actions report back to forms: AppErrors become translated messages and
// field errors; anything unexpected is logged and answered with a generic message.
import { unstable_rethrow } from "next/navigation";
import { getTranslations } from "next-intl/server";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";

export type FormState = {
  ok?: boolean;
  message?: string;
  errors?: Record<string, string>;
  data?: Record<string, string>;
};

export async function formAction(run: () => Promise<FormState>): Promise<FormState> {
  try {
    return await run();
  } catch (err) {
    unstable_rethrow(err);
    const t = await getTranslations();
    const tr = (key: string, values?: Record<string, string | number>) => (t.has(key) ? t(key, values) : key);
    if (err instanceof AppError) {
      return {
        ok: false,
        message: err.i18n ? tr(err.i18n.key, err.i18n.values) : err.message,
        // the first error of a field is the one shown beside it
        errors: Object.fromEntries((err.errors ?? []).toReversed().map((e) => [e.path, tr(e.message, e.values)])),
      };
    }
    logger.error({ err: { message: (err as Error).message, stack: (err as Error).stack } }, "server action failed");
    return { ok: false, message: t("errors.unexpected") };
  }
}

/** FormData → plain object of strings, for zod. */
export function formObject(form: FormData): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of form.entries()) if (typeof v === "string" && !k.startsWith("$ACTION")) o[k] = v;
  return o;
}
