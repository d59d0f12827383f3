// Settings the catalogue marks `secret` (e.g. the generic provider's API gateway headers) live in one
// encrypted column, never in `settings`: write-only in the API and the portal, read here only.
import type { TProvider } from "@/lib/providers/schema";
import { decryptSecret, encryptSecret } from "@/lib/crypto/aead";
import { contextFor } from "@/lib/crypto/secret-fields";

type Owner = { id: string; organizationId: string };

export function isSecretSetting(provider: TProvider, key: string): boolean {
  return provider.settings.some((s) => s.key === key && s.secret);
}

/** Parsed settings → the plain part (stored as JSON text) and the secret part (sealed). */
export function splitSettings(
  provider: TProvider,
  settings: Record<string, unknown>,
): { plain: Record<string, unknown>; secret: Record<string, unknown> } {
  const plain: Record<string, unknown> = {};
  const secret: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) (isSecretSetting(provider, k) ? secret : plain)[k] = v;
  return { plain, secret };
}

export function sealSecretSettings(owner: Owner, secret: Record<string, unknown>): string | null {
  if (Object.keys(secret).length === 0) return null;
  return encryptSecret(JSON.stringify(secret), contextFor("Connection", owner, "secretSettingsEnc"));
}

export function openSecretSettings(owner: Owner & { secretSettingsEnc: string | null }): Record<string, unknown> {
  if (!owner.secretSettingsEnc) return {};
  return JSON.parse(
    decryptSecret(owner.secretSettingsEnc, contextFor("Connection", owner, "secretSettingsEnc")),
  ) as Record<string, unknown>;
}

/** Every setting of a connection, secret ones included: for calls to the provider, never for output. */
export function allSettings(row: Owner & { settings: string; secretSettingsEnc: string | null }) {
  return { ...(JSON.parse(row.settings) as Record<string, unknown>), ...openSecretSettings(row) };
}

/** The names of the secret settings that hold a value (shown as "set", never their values). */
export function secretSettingKeys(row: Owner & { secretSettingsEnc: string | null }): string[] {
  return Object.keys(openSecretSettings(row));
}

/** Headers a `headers` setting adds to API calls (proxy and test); Consentry's own headers win. */
export function apiHeaders(provider: TProvider, settings: Record<string, unknown>): Record<string, string> {
  const setting = provider.settings.find((s) => s.headers);
  const v = setting ? settings[setting.key] : undefined;
  if (!v || typeof v !== "object") return {};
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => typeof x === "string")
      .map(([k, x]) => [k.toLowerCase(), x as string]),
  );
}
