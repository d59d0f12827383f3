"use client";
import { useActionState, useState } from "react";
import { useTranslations } from "next-intl";
import { Field, FormMessage, KeptForm, SubmitButton } from "@/app/_components/form";
import { createOrganizationAction } from "./actions";

const slugify = (s: string) =>
  s
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48);

export function CreateOrganizationForm() {
  const t = useTranslations("admin");
  const [state, action, pending] = useActionState(createOrganizationAction, undefined);
  const [slug, setSlug] = useState("");
  const [touched, setTouched] = useState(false);
  return (
    <KeptForm action={action} pending={pending} state={state} className="space-y-4">
      <FormMessage state={state} />
      <Field
        name="name"
        label={t("name")}
        required
        maxLength={100}
        error={state?.errors?.name}
        onChange={(e) => !touched && setSlug(slugify(e.target.value))}
      />
      <Field
        name="slug"
        label={t("slug")}
        required
        maxLength={48}
        value={slug}
        hint={t("slugHint")}
        error={state?.errors?.slug}
        onChange={(e) => {
          setTouched(true);
          setSlug(e.target.value);
        }}
      />
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" name="joinAsOwner" defaultChecked className="h-4 w-4 rounded border-zinc-300" />
        {t("joinAsOwner")}
      </label>
      <SubmitButton className="btn-primary w-full">{t("createButton")}</SubmitButton>
    </KeptForm>
  );
}
