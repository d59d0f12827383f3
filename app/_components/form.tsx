"use client";
import { createContext, startTransition, useContext, useEffect, useRef } from "react";
import { useFormStatus } from "react-dom";

export type { FormState } from "@/lib/http/form-action";
import type { FormState } from "@/lib/http/form-action";

/** A KeptForm's submit in flight (useFormStatus does not see it: React does not run the form's action). */
const KeptFormPending = createContext(false);

export function SubmitButton({
  children,
  className = "btn-primary",
  pendingLabel,
  disabled = false,
  describedBy,
}: {
  children: React.ReactNode;
  className?: string;
  pendingLabel?: string;
  /** not usable now (say why next to it, and name that text in `describedBy`) */
  disabled?: boolean;
  describedBy?: string;
}) {
  const { pending: submitting } = useFormStatus();
  const kept = useContext(KeptFormPending);
  const pending = submitting || kept;
  return (
    <button
      type="submit"
      className={className}
      disabled={pending || disabled}
      aria-busy={pending}
      aria-describedby={describedBy}
    >
      {pending && pendingLabel ? pendingLabel : children}
    </button>
  );
}

export function Field({
  name,
  label,
  error,
  hint,
  ...props
}: { name: string; label: string; error?: string; hint?: string } & React.InputHTMLAttributes<HTMLInputElement>) {
  const id = `f-${name}`;
  const describedBy = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <label htmlFor={id} className="label">
        {label}
      </label>
      <input
        id={id}
        name={name}
        className="input"
        aria-invalid={Boolean(error)}
        aria-describedby={describedBy}
        {...props}
      />
      {hint ? (
        <p id={`${id}-hint`} className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="mt-1 text-xs text-red-600 dark:text-red-400" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function FormMessage({ state }: { state: FormState | undefined }) {
  if (!state?.message) return null;
  return (
    <p
      role={state.ok ? "status" : "alert"}
      className={`rounded-md px-3 py-2 text-sm ${state.ok ? "bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200" : "bg-red-50 text-red-800 dark:bg-red-950 dark:text-red-200"}`}
    >
      {state.message}
    </p>
  );
}

/**
 * A form for a server action (the dispatch of useActionState) that keeps every field after a refused
 * submit: once hydrated it submits from onSubmit, so React does not reset the form as it does after a
 * form action; before hydration `action` still serves the submit (never a GET with the fields in the
 * URL). `resetOnSuccess`: empty the fields once the action answers ok (e.g. "add another").
 * `confirm`: asked first; cancelling sends nothing.
 */
export function KeptForm({
  action,
  pending = false,
  state,
  resetOnSuccess = false,
  confirm,
  children,
  ...props
}: {
  action: (data: FormData) => void;
  pending?: boolean;
  state?: FormState;
  resetOnSuccess?: boolean;
  confirm?: string;
  children: React.ReactNode;
} & Omit<React.FormHTMLAttributes<HTMLFormElement>, "action" | "onSubmit">) {
  const ref = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (resetOnSuccess && state?.ok) ref.current?.reset();
  }, [state, resetOnSuccess]);
  return (
    <form
      ref={ref}
      action={action}
      noValidate
      {...props}
      onSubmit={(e) => {
        e.preventDefault();
        if (confirm && !window.confirm(confirm)) return;
        const submitter = (e.nativeEvent as SubmitEvent).submitter;
        const data = new FormData(e.currentTarget, submitter);
        startTransition(() => action(data));
      }}
    >
      <KeptFormPending.Provider value={pending}>{children}</KeptFormPending.Provider>
    </form>
  );
}

/** A field group's error (checkboxes, radios), announced when it appears. */
export function ErrorText({ id, error }: { id?: string; error?: string }) {
  if (!error) return null;
  return (
    <p id={id} role="alert" className="mt-1 text-xs text-red-600 dark:text-red-400">
      {error}
    </p>
  );
}
