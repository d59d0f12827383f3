"use client";
// New connection: provider → app → settings → save. One form; steps only change what is visible.
import { useActionState, useMemo, useState } from "react";
import { useTranslations } from "next-intl";
import { ErrorText, Field, FormMessage, KeptForm, SubmitButton } from "@/app/_components/form";
import { CopyButton } from "@/app/_components/copy-button";
import { createConnectionAction } from "../actions";

type Setting = {
  key: string;
  type: string;
  required: boolean;
  options: string[] | null;
  default: string | boolean | null;
  example: string | null;
};
type Provider = {
  id: string;
  name: string;
  authKind: "oauth2" | "api_key";
  docsUrl: string | null;
  settings: Setting[];
  defaultScopes: string[];
  omitScopeParam: boolean;
  redirectUri: string;
};
type App = { id: string; name: string; providerId: string; ownership: "embedded" | "custom"; clientId: string };

const STEPS = ["provider", "app", "settings"] as const;

function KeyValues({ name, label, help, error }: { name: string; label: string; help: string; error?: string }) {
  const t = useTranslations("wizard");
  const [rows, setRows] = useState([0]);
  return (
    <fieldset aria-describedby={error ? `f-${name}-error` : undefined}>
      <legend className="label">{label}</legend>
      <p className="mb-2 text-xs text-zinc-500">{help}</p>
      <div className="space-y-2">
        {rows.map((r) => (
          <div key={r} className="grid grid-cols-2 gap-2">
            <input name={`${name}.key`} aria-label={t("paramName")} placeholder={t("paramName")} className="input" />
            <input
              name={`${name}.value`}
              aria-label={t("paramValue")}
              placeholder={t("paramValue")}
              className="input"
            />
          </div>
        ))}
      </div>
      <ErrorText id={`f-${name}-error`} error={error} />
      <button type="button" className="btn-secondary mt-2" onClick={() => setRows((x) => [...x, x.length])}>
        {t("addParam")}
      </button>
    </fieldset>
  );
}

type Errors = Record<string, string> | undefined;

/** The step whose fields an error belongs to. */
const stepOfError = (key: string): number =>
  key === "provider" ? 0 : key.startsWith("oauth_app") || key === "api_key" ? 1 : 2;

/** The first step that shows a field a refused submit complained about. */
function stepOfErrors(errors: Errors): number | null {
  const steps = Object.keys(errors ?? {}).map(stepOfError);
  return steps.length ? Math.min(...steps) : null;
}

/** The error of a field or of anything inside it (`settings.auth_params.<name>`). */
const errorWithin = (errors: Errors, field: string) =>
  Object.entries(errors ?? {}).find(([k]) => k === field || k.startsWith(`${field}.`))?.[1];

function StepList({ step, goTo, errors }: { step: number; goTo: (i: number) => void; errors: Errors }) {
  const t = useTranslations("wizard");
  const withErrors = new Set(Object.keys(errors ?? {}).map(stepOfError));
  return (
    <ol className="mb-6 flex flex-wrap gap-2 text-sm" aria-label={t("steps")}>
      {STEPS.map((s, i) => (
        <li key={s}>
          <button
            type="button"
            onClick={() => i <= step && goTo(i)}
            aria-current={i === step ? "step" : undefined}
            className={`rounded-full px-3 py-1 ${i === step ? "bg-indigo-600 text-white" : i < step ? "bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-200" : "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300"}`}
          >
            {i + 1}. {t(`step.${s}`)}
            {withErrors.has(i) ? (
              <span className="ml-1 font-semibold" aria-hidden>
                !
              </span>
            ) : null}
            {withErrors.has(i) ? <span className="sr-only"> ({t("stepHasErrors")})</span> : null}
          </button>
        </li>
      ))}
    </ol>
  );
}

function ProviderStep({
  hidden,
  providers,
  providerId,
  choose,
}: {
  hidden: boolean;
  providers: Provider[];
  providerId: string;
  choose: (id: string) => void;
}) {
  const t = useTranslations("wizard");
  return (
    <section hidden={hidden} aria-labelledby="step-provider">
      <h2 id="step-provider" className="mb-3 font-semibold">
        {t("chooseProvider")}
      </h2>
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" role="radiogroup" aria-label={t("chooseProvider")}>
        {providers.map((p) => (
          <label
            key={p.id}
            className={`card flex cursor-pointer flex-col gap-1 p-4 ${providerId === p.id ? "border-indigo-500 ring-2 ring-indigo-500/30" : ""}`}
          >
            <span className="flex items-center gap-2">
              <input
                type="radio"
                name="providerRadio"
                value={p.id}
                checked={providerId === p.id}
                onChange={() => choose(p.id)}
              />
              <span className="font-medium">{p.name}</span>
            </span>
            <span className="text-xs text-zinc-500">{t(`providerBlurb.${p.id}`)}</span>
          </label>
        ))}
      </div>
    </section>
  );
}

/** An app of the organization's own, entered here: the redirect URI to register, client id and secret. */
function CustomAppFields({ provider, errors }: { provider: Provider; errors: Errors }) {
  const t = useTranslations("wizard");
  return (
    <div className="mt-4 space-y-3 rounded-md border border-zinc-200 p-4 dark:border-zinc-800">
      <div className="text-sm">
        <p className="label">{t("registerRedirect")}</p>
        <div className="flex items-center gap-2">
          <code className="break-all rounded bg-zinc-100 px-2 py-1 text-xs dark:bg-zinc-800">
            {provider.redirectUri}
          </code>
          <CopyButton value={provider.redirectUri} />
        </div>
      </div>
      <Field name="clientId" label={t("clientId")} autoComplete="off" error={errors?.["oauth_app.client_id"]} />
      <Field
        name="clientSecret"
        label={t("clientSecret")}
        type="password"
        autoComplete="off"
        hint={t("clientSecretHint")}
        error={errors?.["oauth_app.client_secret"]}
      />
      <Field
        name="redirectUri"
        label={t("redirectOverride")}
        hint={t("redirectOverrideHint")}
        placeholder="https://127.0.0.1/"
        error={errors?.["oauth_app.redirect_uri"]}
      />
    </div>
  );
}

function AppStep(props: {
  hidden: boolean;
  provider: Provider | undefined;
  apps: App[];
  appChoice: string;
  choose: (id: string) => void;
  canCreateApp: boolean;
  errors: Errors;
}) {
  const { hidden, provider, apps, appChoice, choose, canCreateApp, errors } = props;
  const t = useTranslations("wizard");
  const apiKey = provider?.authKind === "api_key";
  return (
    <section hidden={hidden} aria-labelledby="step-app">
      <h2 id="step-app" className="mb-3 font-semibold">
        {apiKey ? t("apiKeyHeading") : t("chooseApp")}
      </h2>
      {apiKey ? (
        <Field
          name="apiKey"
          label={t("apiKey")}
          type="password"
          autoComplete="off"
          hint={t("apiKeyHint")}
          error={errors?.api_key}
        />
      ) : (
        <div className="space-y-3">
          {apps.map((a) => (
            <label key={a.id} className="flex items-center gap-3 text-sm">
              <input type="radio" name="appRadio" checked={appChoice === a.id} onChange={() => choose(a.id)} />
              <span className="min-w-0 wrap-anywhere">
                <span className="font-medium">{a.name}</span>{" "}
                <span className="text-zinc-500">
                  ({a.ownership === "embedded" ? t("platformApp") : t("orgApp")}, {a.clientId})
                </span>
              </span>
            </label>
          ))}
          {canCreateApp ? (
            <label className="flex items-center gap-3 text-sm">
              <input type="radio" name="appRadio" checked={appChoice === "custom"} onChange={() => choose("custom")} />
              <span className="font-medium">{t("customApp")}</span>
            </label>
          ) : apps.length === 0 ? (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{t("noAppsMember")}</p>
          ) : null}
          {appChoice === "custom" && provider ? <CustomAppFields provider={provider} errors={errors} /> : null}
          {errors?.oauth_app_id ? (
            <p role="alert" className="text-xs text-red-600">
              {errors.oauth_app_id}
            </p>
          ) : null}
        </div>
      )}
    </section>
  );
}

/** One provider setting, as its type asks: key/value pairs, a choice, a switch, or a text field. */
function SettingField({ s, errors }: { s: Setting; errors: Errors }) {
  const t = useTranslations("wizard");
  const ts = useTranslations("settingsFields");
  const name = `settings.${s.key}`;
  if (s.type === "key_values")
    return (
      <KeyValues
        name={name}
        label={ts(`${s.key}.label`)}
        help={ts(`${s.key}.help`)}
        error={errorWithin(errors, name)}
      />
    );
  if (s.type === "enum") {
    const optionKey = (o: string) => `${s.key}.options.${o.replace(/\./g, "_")}`;
    return (
      <div>
        <label htmlFor={`f-${name}`} className="label">
          {ts(`${s.key}.label`)}
        </label>
        <select
          id={`f-${name}`}
          name={name}
          className="input"
          defaultValue={typeof s.default === "string" ? s.default : undefined}
        >
          {s.options?.map((o) => (
            <option key={o} value={o}>
              {ts.has(optionKey(o)) ? ts(optionKey(o)) : o}
            </option>
          ))}
        </select>
        <p className="mt-1 text-xs text-zinc-500">{ts(`${s.key}.help`)}</p>
        <ErrorText error={errors?.[name]} />
      </div>
    );
  }
  if (s.type === "boolean") {
    return (
      <label className="flex items-start gap-2 text-sm">
        <input type="checkbox" name={name} defaultChecked={s.default === true} className="mt-1" />
        <span>
          {ts(`${s.key}.label`)}
          <span className="block text-xs text-zinc-500">{ts(`${s.key}.help`)}</span>
          <ErrorText error={errors?.[name]} />
        </span>
      </label>
    );
  }
  return (
    <Field
      name={name}
      label={`${ts(`${s.key}.label`)}${s.required ? "" : ` (${t("optional")})`}`}
      hint={ts(`${s.key}.help`)}
      placeholder={s.example ?? undefined}
      required={s.required}
      error={errors?.[name]}
    />
  );
}

function SettingsStep({
  hidden,
  provider,
  errors,
}: {
  hidden: boolean;
  provider: Provider | undefined;
  errors: Errors;
}) {
  const t = useTranslations("wizard");
  return (
    <section hidden={hidden} aria-labelledby="step-settings" className="space-y-4">
      <h2 id="step-settings" className="font-semibold">
        {t("settingsHeading")}
      </h2>
      <Field
        name="name"
        label={t("name")}
        required
        maxLength={100}
        placeholder={t("namePlaceholder")}
        error={errors?.name}
      />
      {provider?.settings.map((s) => (
        <SettingField key={s.key} s={s} errors={errors} />
      ))}
      {provider && provider.authKind === "oauth2" && !provider.omitScopeParam ? (
        <Field
          name="scopes"
          label={t("scopes")}
          defaultValue={provider.defaultScopes.join(" ")}
          hint={t("scopesHint")}
          error={errors?.scopes}
        />
      ) : null}
    </section>
  );
}

export function ConnectionWizard({
  org,
  providers,
  apps,
  canCreateApp,
}: {
  org: string;
  providers: Provider[];
  apps: App[];
  canCreateApp: boolean;
}) {
  const t = useTranslations("wizard");
  const [state, action, pending] = useActionState(createConnectionAction, undefined);
  const [step, setStep] = useState(0);
  const [providerId, setProviderId] = useState<string>("");
  const provider = providers.find((p) => p.id === providerId);
  const providerApps = useMemo(() => apps.filter((a) => a.providerId === providerId), [apps, providerId]);
  const [appChoice, setAppChoice] = useState<string>("");
  const goTo = (i: number) => setStep(Math.max(0, Math.min(STEPS.length - 1, i)));
  // a refused submit opens the first step with an error (adjusted while rendering, not in an effect)
  const [answered, setAnswered] = useState(state);
  if (state !== answered) {
    setAnswered(state);
    const errorStep = stepOfErrors(state?.errors);
    if (errorStep !== null) setStep(errorStep);
  }
  const stepOk =
    step === 0 ? Boolean(provider) : step === 1 ? provider?.authKind === "api_key" || Boolean(appChoice) : true;

  return (
    <KeptForm action={action} pending={pending} state={state} className="card p-6">
      <input type="hidden" name="org" value={org} />
      <input type="hidden" name="provider" value={providerId} />
      <input type="hidden" name="appChoice" value={appChoice} />
      <StepList step={step} goTo={goTo} errors={state?.errors} />
      <FormMessage state={state} />
      <ProviderStep
        hidden={step !== 0}
        providers={providers}
        providerId={providerId}
        choose={(id) => {
          setProviderId(id);
          setAppChoice("");
        }}
      />
      <AppStep
        hidden={step !== 1}
        provider={provider}
        apps={providerApps}
        appChoice={appChoice}
        choose={setAppChoice}
        canCreateApp={canCreateApp}
        errors={state?.errors}
      />
      <SettingsStep hidden={step !== 2} provider={provider} errors={state?.errors} />
      <div className="mt-6 flex justify-between border-t border-zinc-200 pt-4 dark:border-zinc-800">
        <button type="button" className="btn-secondary" onClick={() => goTo(step - 1)} disabled={step === 0}>
          {t("back")}
        </button>
        {step < STEPS.length - 1 ? (
          <button type="button" className="btn-primary" onClick={() => goTo(step + 1)} disabled={!stepOk}>
            {t("next")}
          </button>
        ) : (
          <SubmitButton pendingLabel={t("saving")}>{t("save")}</SubmitButton>
        )}
      </div>
    </KeptForm>
  );
}
