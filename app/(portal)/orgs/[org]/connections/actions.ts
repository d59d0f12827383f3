"use server";
import crypto from "node:crypto";
import { revalidatePath } from "next/cache";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { getTranslations } from "next-intl/server";
import { z } from "zod";
import { requireOrg } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";
import { formAction, formObject, type FormState } from "@/lib/http/form-action";
import { createConnection } from "@/lib/connections/create-connection";
import { createConsentLink, revokeConsentLink } from "@/lib/connections/create-consent-link";
import { testConnection } from "@/lib/connections/test-connection";
import { createDirectConsent } from "@/lib/consent/create-direct-consent";
import { startConsent } from "@/lib/consent/start-consent";
import { completeConsentFromPaste } from "@/lib/consent/complete-consent";
import { flowCookieName, flowCookieOptions } from "@/lib/consent/flow-cookie";
import { consentResultResponse } from "@/lib/consent/consent-result-response";
import { PROVIDERS } from "@/lib/providers/catalogue";
import { AppError } from "@/lib/errors";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { disconnectConnection } from "@/lib/connections/disconnect-connection";
import { purgeConnection } from "@/lib/connections/purge-connection";
import { updateConnection } from "@/lib/connections/update-connection";
import { CONTENT_TYPES } from "@/lib/activity/management-api";
import { startSubscriptions, stopSubscription } from "@/lib/activity/subscriptions";

const ZRef = z.object({ org: z.string().min(1).max(64), connectionId: z.string().min(1).max(64) });

/** Wizard form → createConnection's input: settings.* fields, key_values rows, scopes text. */
function connectionInput(o: Record<string, string>, form: FormData) {
  const provider = PROVIDERS.get(o.provider ?? "");
  const settings: Record<string, unknown> = {};
  for (const s of provider?.settings ?? []) {
    if (s.type === "key_values") {
      const keys = form.getAll(`settings.${s.key}.key`).map(String);
      const values = form.getAll(`settings.${s.key}.value`).map(String);
      const kv: Record<string, string> = {};
      keys.forEach((k, i) => k.trim() && (kv[k.trim()] = values[i] ?? ""));
      if (Object.keys(kv).length) settings[s.key] = kv;
    } else if (s.type === "boolean") settings[s.key] = o[`settings.${s.key}`] === "on";
    else if (o[`settings.${s.key}`] !== undefined) settings[s.key] = o[`settings.${s.key}`];
  }
  const scopes = (o.scopes ?? "").split(/[\s,]+/).filter(Boolean);
  return {
    provider: o.provider,
    name: o.name,
    settings,
    ...(scopes.length ? { scopes } : {}),
    ...(o.appChoice === "custom"
      ? {
          oauth_app: {
            client_id: o.clientId ?? "",
            client_secret: o.clientSecret || undefined,
            redirect_uri: o.redirectUri || undefined,
          },
        }
      : o.appChoice
        ? { oauth_app_id: o.appChoice }
        : {}),
    ...(o.apiKey ? { api_key: o.apiKey } : {}),
  };
}

export async function createConnectionAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  let target = "";
  const state = await formAction(async () => {
    const o = formObject(form);
    const { user, org } = await requireOrg(o.org ?? "", "member");
    if (o.appChoice === "custom") await requireOrg(org.slug, "admin");
    const c = await createConnection({
      db: db(),
      organizationId: org.id,
      input: connectionInput(o, form),
      actor: { type: "user", id: user.id, label: user.email },
    });
    target = `/orgs/${org.slug}/connections/${c.id}`;
    return { ok: true };
  });
  if (state.ok) redirect(target);
  return state;
}

export async function createConsentLinkAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const { org, connectionId } = ZRef.parse(formObject(form));
    const { user, org: o } = await requireOrg(org, "member");
    const link = await createConsentLink({
      db: db(),
      organizationId: o.id,
      connectionId,
      actor: { type: "user", id: user.id, label: user.email },
      createdByUserId: user.id,
    });
    revalidatePath(`/orgs/${o.slug}/connections/${connectionId}`);
    return { ok: true, message: (await getTranslations("connection"))("linkCreated"), data: { url: link.url } };
  });
}

export async function revokeConsentLinkAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const { org, connectionId, consentRequestId } = ZRef.extend({ consentRequestId: z.string().min(1).max(64) }).parse(
      formObject(form),
    );
    const { user, org: o } = await requireOrg(org, "member");
    await revokeConsentLink({
      db: db(),
      organizationId: o.id,
      consentRequestId,
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${o.slug}/connections/${connectionId}`);
    return { ok: true, message: (await getTranslations("connection"))("linkRevoked") };
  });
}

export async function connectNowAction(form: FormData) {
  const { org, connectionId } = ZRef.parse(formObject(form));
  const { user, org: o } = await requireOrg(org, "member");
  const request = await createDirectConsent({ db: db(), organizationId: o.id, connectionId, userId: user.id });
  const browserSecret = crypto.randomBytes(32).toString("base64url");
  const { authorizationUrl } = await startConsent({
    db: db(),
    consentRequestId: request.id,
    organizationId: o.id,
    browserSecret,
    returnTo: `/orgs/${o.slug}/connections/${connectionId}`,
    actor: { type: "user", id: user.id, label: user.email },
  });
  (await cookies()).set(flowCookieName(), browserSecret, flowCookieOptions());
  redirect(authorizationUrl);
}

export async function testConnectionAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const { org, connectionId } = ZRef.parse(formObject(form));
    const { user, org: o } = await requireOrg(org, "member");
    const r = await testConnection({
      db: db(),
      organizationId: o.id,
      connectionId,
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${o.slug}/connections/${connectionId}`);
    const t = await getTranslations("connection");
    return {
      ok: r.ok,
      message: r.ok
        ? t("testOk", { status: r.status ?? 0, ms: r.durationMs })
        : r.status
          ? t("testFailedStatus", { status: r.status })
          : r.message,
      data: Object.fromEntries(Object.entries(r.summary).map(([k, v]) => [`summary:${k}`, v])),
    };
  });
}

/** Headless path: the pasted redirect URL (or code) completes the flow exactly like the callback. */
export async function pasteRedirectAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const { org, connectionId } = ZRef.parse(o);
    const { org: ov } = await requireOrg(org, "member");
    if (!o.pasted?.trim())
      throw new AppError("validation", "Paste the address", {
        errors: [{ path: "pasted", message: "validation.pasteRequired" }],
        i18n: { key: "errors.checkFields" },
      });
    const outcome = await completeConsentFromPaste({
      db: db(),
      organizationId: ov.id,
      connectionId,
      pasted: o.pasted,
      browserSecret: (await cookies()).get(flowCookieName())?.value,
    });
    await consentResultResponse(outcome);
    redirect("/consent/result");
  });
}

export async function refreshNowAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const { org, connectionId } = ZRef.parse(formObject(form));
    const { user, org: o } = await requireOrg(org, "member");
    const c = await db().connection.findFirst({
      where: { id: connectionId, organizationId: o.id },
      select: { id: true },
    });
    if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
    const r = await refreshConnection({
      db: db(),
      connectionId: c.id,
      reason: "manual",
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${o.slug}/connections/${connectionId}`);
    const t = await getTranslations("connection");
    if (r.result === "refreshed" || r.result === "already_fresh") return { ok: true, message: t("refreshed") };
    if (r.result === "busy") return { ok: false, message: t("refreshBusy") };
    if (r.result === "skipped") return { ok: false, message: t("refreshSkipped") };
    if (r.errorCode === "provider_refresh_limit")
      return { ok: false, message: t("refreshLimited", { seconds: r.retryAfterSeconds ?? 60 }) };
    return { ok: false, message: t("refreshFailed", { code: r.errorCode }) };
  });
}

/**
 * Disconnect. The card holding the form goes away with the connection's status, so what happened at
 * the provider is told by the page it returns to.
 */
export async function disconnectAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  let target = "";
  const state = await formAction(async () => {
    const { org, connectionId } = ZRef.parse(formObject(form));
    const { user, org: o } = await requireOrg(org, "admin");
    const r = await disconnectConnection({
      db: db(),
      organizationId: o.id,
      connectionId,
      actor: { type: "user", id: user.id, label: user.email },
    });
    // only the outcome travels in the address (a reason there could be forged); the audit log has it
    target = `/orgs/${o.slug}/connections/${connectionId}?disconnected=${r.revocation.outcome}`;
    return { ok: true };
  });
  if (state.ok) redirect(target);
  return state;
}

/** Delete permanently: disconnect if still connected, remove the connection; the audit trail stays. */
export async function purgeAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  let target = "";
  const state = await formAction(async () => {
    const { org, connectionId } = ZRef.parse(formObject(form));
    const { user, org: o } = await requireOrg(org, "admin");
    const r = await purgeConnection({
      db: db(),
      organizationId: o.id,
      connectionId,
      actor: { type: "user", id: user.id, label: user.email },
    });
    const outcome = r.disconnected?.revocation.outcome ?? "already";
    target = `/orgs/${o.slug}/connections?deleted=${encodeURIComponent(r.name)}&revocation=${outcome}`;
    revalidatePath(`/orgs/${o.slug}/connections`);
    return { ok: true };
  });
  if (state.ok) redirect(target);
  return state;
}

/** Lines of `key=value` (or `key: value`) → an object; a line without a separator is an error. */
function keyValueLines(text: string, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!m)
      throw new AppError("validation", "Write one key=value per line", {
        errors: [{ path: field, message: "validation.keyValueLine" }],
        i18n: { key: "errors.keyValueLine", values: { line: i + 1 } },
      });
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** Edit panel → the PATCH input: only what differs from what is stored; empty optional settings are removed. */
export async function updateConnectionAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o = formObject(form);
    const { org, connectionId } = ZRef.parse(o);
    const { user, org: ov } = await requireOrg(org, "member");
    const c = await db().connection.findFirst({
      where: { id: connectionId, organizationId: ov.id },
      select: { providerId: true, customerMetadata: true },
    });
    if (!c) throw new AppError("not-found", "Connection not found", { i18n: { key: "errors.connectionNotFound" } });
    const provider = PROVIDERS.get(c.providerId);
    const settings: Record<string, unknown> = {};
    for (const s of provider?.settings ?? []) {
      const field = `settings.${s.key}`;
      if (s.secret) {
        if (o[`${field}.remove`] === "on") settings[s.key] = null;
        else if (o[field]?.trim())
          settings[s.key] = s.type === "key_values" ? keyValueLines(o[field], field) : o[field];
        continue;
      }
      if (s.type === "boolean") settings[s.key] = o[field] === "on";
      else if (s.type === "key_values") {
        const kv = keyValueLines(o[field] ?? "", field);
        settings[s.key] = Object.keys(kv).length ? kv : null;
      } else if (o[field] !== undefined) settings[s.key] = o[field].trim() === "" && !s.required ? null : o[field];
    }
    const metadata: Record<string, string | null> = keyValueLines(o.metadata ?? "", "metadata");
    for (const k of Object.keys(JSON.parse(c.customerMetadata) as Record<string, string>))
      if (!(k in metadata)) metadata[k] = null;
    const r = await updateConnection({
      db: db(),
      organizationId: ov.id,
      connectionId,
      input: {
        name: o.name,
        settings,
        scopes: (o.scopes ?? "").split(/[\s,]+/).filter(Boolean),
        metadata,
      },
      actor: { type: "user", id: user.id, label: user.email },
      createdByUserId: user.id,
    });
    revalidatePath(`/orgs/${ov.slug}/connections/${connectionId}`);
    const t = await getTranslations("connection");
    if (r.changed.length === 0) return { ok: true, message: t("editUnchanged") };
    return {
      ok: true,
      message: r.reconsentRequired ? t("editSavedReconsent") : t("editSaved"),
      ...(r.consentUrl ? { data: { url: r.consentUrl } } : {}),
    };
  });
}

const ZActivityForm = ZRef.extend({ contentType: z.array(z.enum(CONTENT_TYPES)).min(1, "activityChooseOne") });

/** Activity feed card: start the checked content types (Office 365 Management Activity API). */
export async function startActivityAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const t = await getTranslations("connection");
    const parsed = ZActivityForm.safeParse({ ...formObject(form), contentType: form.getAll("contentType") });
    if (!parsed.success) return { ok: false, message: t("activityChooseOne") };
    const { org, connectionId, contentType } = parsed.data;
    const { user, org: o } = await requireOrg(org, "admin");
    const rows = await startSubscriptions({
      db: db(),
      organizationId: o.id,
      connectionId,
      contentTypes: contentType,
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${o.slug}/connections/${connectionId}`);
    const failed = rows.filter((r) => contentType.includes(r.content_type as never) && r.status !== "enabled");
    return failed.length
      ? { ok: false, message: t("activityStartFailed", { types: failed.map((r) => r.content_type).join(", ") }) }
      : { ok: true, message: t("activityStarted") };
  });
}

export async function stopActivityAction(_prev: FormState | undefined, form: FormData): Promise<FormState> {
  return formAction(async () => {
    const o1 = formObject(form);
    const { org, connectionId } = ZRef.parse(o1);
    const contentType = z.enum(CONTENT_TYPES).parse(o1.contentType);
    const { user, org: o } = await requireOrg(org, "admin");
    await stopSubscription({
      db: db(),
      organizationId: o.id,
      connectionId,
      contentType,
      actor: { type: "user", id: user.id, label: user.email },
    });
    revalidatePath(`/orgs/${o.slug}/connections/${connectionId}`);
    return { ok: true, message: (await getTranslations("connection"))("activityStopped", { type: contentType }) };
  });
}
