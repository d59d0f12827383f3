"use client";
import { useActionState } from "react";
import { useTranslations } from "next-intl";
import { Field, FormMessage, SubmitButton } from "@/app/_components/form";
import { addMemberAction, removeMemberAction, renameOrganizationAction } from "./actions";

export function RenameForm({ org, name }: { org: string; name: string }) {
  const t = useTranslations("settings");
  const [state, action] = useActionState(renameOrganizationAction, undefined);
  return (
    <form action={action} className="flex max-w-lg flex-col gap-3 sm:flex-row sm:items-end">
      <input type="hidden" name="org" value={org} />
      <div className="flex-1">
        <Field name="name" label={t("name")} defaultValue={name} required maxLength={100} error={state?.errors?.name} />
      </div>
      <SubmitButton className="btn-secondary">{t("save")}</SubmitButton>
      <div className="sm:hidden">
        <FormMessage state={state} />
      </div>
      <span className="sr-only" aria-live="polite">
        {state?.message}
      </span>
    </form>
  );
}

export function AddMemberForm({
  org,
  canAddOwner,
  localLogin,
}: {
  org: string;
  canAddOwner: boolean;
  localLogin: boolean;
}) {
  const t = useTranslations("settings");
  const tr = useTranslations("roles");
  const [state, action] = useActionState(addMemberAction, undefined);
  return (
    <form action={action} className="space-y-3">
      <input type="hidden" name="org" value={org} />
      <FormMessage state={state} />
      {state?.data?.password ? (
        <div className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950">
          <p>{t("oneTimePassword")}</p>
          <p className="mt-1 select-all font-mono text-base">{state.data.password}</p>
        </div>
      ) : null}
      <div className="grid gap-3 sm:grid-cols-[1fr_12rem_auto] sm:items-end">
        <Field
          name="email"
          label={t("email")}
          type="email"
          required
          error={state?.errors?.email}
          hint={localLogin ? t("emailHintLocal") : t("emailHintOidc")}
        />
        <div>
          <label htmlFor="f-role" className="label">
            {t("role")}
          </label>
          <select id="f-role" name="role" className="input" defaultValue="member">
            <option value="member">{tr("member")}</option>
            <option value="admin">{tr("admin")}</option>
            {canAddOwner ? <option value="owner">{tr("owner")}</option> : null}
          </select>
        </div>
        <SubmitButton>{t("add")}</SubmitButton>
      </div>
    </form>
  );
}

export function RemoveMemberButton({
  org,
  membershipId,
  label,
  confirm,
}: {
  org: string;
  membershipId: string;
  label: string;
  confirm: string;
}) {
  const [state, action] = useActionState(removeMemberAction, undefined);
  return (
    <form
      action={action}
      onSubmit={(e) => {
        if (!window.confirm(confirm)) e.preventDefault();
      }}
    >
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="membershipId" value={membershipId} />
      <SubmitButton className="btn-danger">{label}</SubmitButton>
      {state && !state.ok ? (
        <p role="alert" className="mt-1 text-xs text-red-600">
          {state.message}
        </p>
      ) : null}
    </form>
  );
}
