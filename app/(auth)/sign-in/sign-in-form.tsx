"use client";
import { useActionState } from "react";
import { useTranslations } from "next-intl";
import { Field, FormMessage, SubmitButton } from "@/app/_components/form";
import { signInWithPassword } from "./actions";

export function SignInForm({ returnTo }: { returnTo: string }) {
  const t = useTranslations("signIn");
  const [state, action] = useActionState(signInWithPassword, undefined);
  return (
    <form action={action} className="space-y-4">
      <input type="hidden" name="returnTo" value={returnTo} />
      <FormMessage state={state} />
      <Field
        name="email"
        label={t("email")}
        type="email"
        autoComplete="username"
        required
        defaultValue={state?.data?.email}
        autoFocus
      />
      <Field name="password" label={t("password")} type="password" autoComplete="current-password" required />
      <SubmitButton className="btn-primary w-full" pendingLabel={t("signingIn")}>
        {t("submit")}
      </SubmitButton>
    </form>
  );
}
