"use client";
import { useActionState } from "react";
import { useTranslations } from "next-intl";
import { Field, FormMessage, KeptForm, SubmitButton } from "@/app/_components/form";
import { changePasswordAction } from "@/app/_components/change-password-action";

/** Current password, the new one twice. `required`: the first sign-in's "choose your password". */
export function ChangePasswordForm({ email, required }: { email: string; required: boolean }) {
  const t = useTranslations("account");
  const [state, action, pending] = useActionState(changePasswordAction, undefined);
  const err = (k: string) => state?.errors?.[k];
  return (
    <KeptForm action={action} pending={pending} state={state} resetOnSuccess className="space-y-4">
      <FormMessage state={state} />
      {/* for password managers: whose password this is */}
      <input type="email" hidden readOnly name="username" autoComplete="username" value={email} />
      <Field
        name="currentPassword"
        label={required ? t("givenPassword") : t("currentPassword")}
        type="password"
        autoComplete="current-password"
        required
        error={err("currentPassword")}
      />
      <Field
        name="newPassword"
        label={t("newPassword")}
        type="password"
        autoComplete="new-password"
        required
        minLength={12}
        hint={t("newPasswordHint")}
        error={err("newPassword")}
      />
      <Field
        name="confirmPassword"
        label={t("confirmPassword")}
        type="password"
        autoComplete="new-password"
        required
        error={err("confirmPassword")}
      />
      <SubmitButton className="btn-primary w-full" pendingLabel={t("saving")}>
        {required ? t("submitRequired") : t("submit")}
      </SubmitButton>
    </KeptForm>
  );
}
