"use server";
import { AuthError } from "next-auth";
import { getTranslations } from "next-intl/server";
import { signIn } from "@/lib/auth/auth";
import { env } from "@/lib/env";
import type { FormState } from "@/lib/http/form-action";
import { safeReturnTo } from "@/lib/http/safe-return-to";

export async function signInWithPassword(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  const t = await getTranslations("signIn");
  if (!env().localLogin) return { ok: false, message: t("passwordDisabled") };
  const email = String(form.get("email") ?? "");
  try {
    await signIn("credentials", {
      email,
      password: String(form.get("password") ?? ""),
      redirectTo: safeReturnTo(form.get("returnTo")),
    });
    return { ok: true };
  } catch (err) {
    if (err instanceof AuthError) return { ok: false, message: t("invalid"), data: { email } };
    throw err; // the redirect after success
  }
}

export async function signInWithOidc(form: FormData) {
  await signIn("oidc", { redirectTo: safeReturnTo(form.get("returnTo")) });
}
