import { listProviders } from "@/lib/providers/catalogue";

/** Providers an OAuth app can be registered for, with whether they take certificates. */
export function oauthProviderOptions() {
  return listProviders()
    .filter((p) => p.authKind === "oauth2")
    .map((p) => ({ id: p.id, name: p.name, certificates: Boolean(p.appOnly) }));
}
