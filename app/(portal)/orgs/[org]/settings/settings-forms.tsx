"use client";
import { useActionState } from "react";
import { useTranslations } from "next-intl";
import { Field, FormMessage, KeptForm, SubmitButton } from "@/app/_components/form";
import { addMemberAction, changeMemberRoleAction, removeMemberAction, renameOrganizationAction } from "./actions";

export function RenameForm({ org, name }: { org: string; name: string }) {
  const t = useTranslations("settings");
  const [state, action, pending] = useActionState(renameOrganizationAction, undefined);
  return (
    <KeptForm
      action={action}
      pending={pending}
      state={state}
      className="flex max-w-lg flex-col gap-3 sm:flex-row sm:items-end"
    >
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
    </KeptForm>
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
  const [state, action, pending] = useActionState(addMemberAction, undefined);
  return (
    <KeptForm action={action} pending={pending} state={state} resetOnSuccess className="space-y-3">
      <input type="hidden" name="org" value={org} />
      <FormMessage state={state} />
      {state?.data?.password ? (
        <div className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950">
          <p>{t("oneTimePassword")}</p>
          <p className="mt-1 select-all break-all font-mono text-base" data-testid="one-time-password">
            {state.data.password}
          </p>
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
    </KeptForm>
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

/** A member's role, changeable in place by admins and owners (the action checks who may set what). */
export function ChangeRoleForm({
  org,
  membershipId,
  email,
  role,
  canSetOwner,
}: {
  org: string;
  membershipId: string;
  email: string;
  role: string;
  /** the acting person is an owner: owner is offered, and an owner's role can be changed */
  canSetOwner: boolean;
}) {
  const t = useTranslations("settings");
  const tr = useTranslations("roles");
  const [state, action, pending] = useActionState(changeMemberRoleAction, undefined);
  const id = `role-${membershipId}`;
  return (
    <KeptForm action={action} pending={pending} state={state} className="flex flex-wrap items-center gap-2">
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="membershipId" value={membershipId} />
      <select
        id={id}
        name="role"
        className="input w-auto py-1 text-sm"
        defaultValue={role}
        aria-label={t("roleFor", { email })}
        aria-invalid={Boolean(state && !state.ok)}
        aria-describedby={state?.message ? `${id}-message` : undefined}
      >
        <option value="member">{tr("member")}</option>
        <option value="admin">{tr("admin")}</option>
        {canSetOwner ? <option value="owner">{tr("owner")}</option> : null}
      </select>
      <SubmitButton className="btn-secondary px-2 py-1 text-xs">{t("saveRole")}</SubmitButton>
      {state?.message ? (
        <p
          id={`${id}-message`}
          role={state.ok ? "status" : "alert"}
          className={`w-full text-xs ${state.ok ? "text-emerald-700 dark:text-emerald-300" : "text-red-600 dark:text-red-400"}`}
        >
          {state.message}
        </p>
      ) : null}
    </KeptForm>
  );
}
