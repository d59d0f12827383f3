// Every encrypted column, with how its associated data is derived from the row. The key-rotation
// job and the leak tests walk this list, so a new secret column is one entry here.
import type { SecretContext } from "@/lib/crypto/aead";

type Row = Record<string, unknown> & { id: string; organizationId: string | null };

export const SECRET_FIELDS = [
  { model: "oAuthApp", table: "OAuthApp", fields: ["clientSecretEnc", "privateKeyEnc"], rowId: (r: Row) => r.id },
  // Token sets are bound to their connection: a token set belongs to exactly one connection.
  {
    model: "tokenSet",
    table: "TokenSet",
    fields: ["accessTokenEnc", "refreshTokenEnc", "idTokenEnc"],
    rowId: (r: Row) => String(r.connectionId),
  },
  // settings the catalogue marks `secret` (lib/connections/secret-settings.ts)
  { model: "connection", table: "Connection", fields: ["secretSettingsEnc"], rowId: (r: Row) => r.id },
  { model: "consentRequest", table: "ConsentRequest", fields: ["pkceVerifierEnc"], rowId: (r: Row) => r.id },
  { model: "webhookEndpoint", table: "WebhookEndpoint", fields: ["secretEnc"], rowId: (r: Row) => r.id },
  // the authId Microsoft echoes in Webhook-AuthID, bound to its connection
  {
    model: "activityListener",
    table: "ActivityListener",
    fields: ["authIdEnc"],
    rowId: (r: Row) => String(r.connectionId),
  },
] as const;

export function contextFor(table: (typeof SECRET_FIELDS)[number]["table"], row: Row, field: string): SecretContext {
  const spec = SECRET_FIELDS.find((s) => s.table === table)!;
  return { table, organizationId: row.organizationId, rowId: spec.rowId(row), field };
}
