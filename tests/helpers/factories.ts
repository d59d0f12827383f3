// Seed data for integration tests. Rows are written directly with Prisma; secret columns are
// encrypted exactly as the app binds them (lib/crypto/secret-fields `contextFor`).
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { decryptSecret, encryptSecret } from "@/lib/crypto/aead";
import { contextFor, SECRET_FIELDS } from "@/lib/crypto/secret-fields";
import type { TRole } from "@/lib/auth/roles";

type SecretTable = (typeof SECRET_FIELDS)[number]["table"];
type Row = Record<string, unknown> & { id: string; organizationId: string | null };

/** A short random token for unique slugs, e-mails and ids. */
export const uniq = () => crypto.randomBytes(5).toString("hex");
/** A recognisable secret value: if it ever shows up in a dump, the label says where it came from. */
export const canary = (label: string) => `canary-${label}-${crypto.randomBytes(8).toString("hex")}`;

const seal = (table: SecretTable, row: Row, field: string, value: string | null | undefined) =>
  value == null ? null : encryptSecret(value, contextFor(table, row, field));

/** Decrypts one secret column of a row read back from the database. */
export function openSecret(table: SecretTable, row: Row, field: string): string {
  const value = row[field];
  if (typeof value !== "string") throw new Error(`${table}.${field} of ${row.id} is empty`);
  return decryptSecret(value, contextFor(table, row, field));
}

export async function seedUser(
  db: Db,
  over: { email?: string; name?: string; isStaff?: boolean; passwordHash?: string | null } = {},
) {
  return db.user.create({
    data: {
      email: over.email ?? `user-${uniq()}@example.test`,
      name: over.name ?? "Test User",
      isStaff: over.isStaff ?? false,
      passwordHash: over.passwordHash ?? null,
    },
  });
}

export async function seedOrg(db: Db, over: { slug?: string; name?: string } = {}) {
  const slug = over.slug ?? `org-${uniq()}`;
  return db.organization.create({ data: { slug, name: over.name ?? `Org ${slug}` } });
}

export async function seedMembership(
  db: Db,
  { organizationId, userId, role }: { organizationId: string; userId: string; role: TRole },
) {
  return db.membership.create({ data: { organizationId, userId, role } });
}

/** An OAuth app: organization-owned, or platform-owned with organizationId null. */
export async function seedOAuthApp(
  db: Db,
  {
    organizationId,
    clientSecret,
    privateKey,
    providerId = "microsoft",
  }: { organizationId: string | null; clientSecret?: string; privateKey?: string; providerId?: string },
) {
  const row = { id: `app_${uniq()}`, organizationId };
  return db.oAuthApp.create({
    data: {
      ...row,
      providerId,
      name: `App ${row.id}`,
      clientId: `client-${uniq()}`,
      clientSecretEnc: seal("OAuthApp", row, "clientSecretEnc", clientSecret),
      privateKeyEnc: seal("OAuthApp", row, "privateKeyEnc", privateKey),
    },
  });
}

export async function seedConnection(
  db: Db,
  {
    organizationId,
    oauthAppId = null,
    name,
    providerId = "microsoft",
  }: { organizationId: string; oauthAppId?: string | null; name?: string; providerId?: string },
) {
  return db.connection.create({
    data: { organizationId, oauthAppId, providerId, name: name ?? `Connection ${uniq()}`, status: "active" },
  });
}

export async function seedTokenSet(
  db: Db,
  {
    connection,
    accessToken,
    refreshToken,
    idToken,
  }: {
    connection: { id: string; organizationId: string };
    accessToken: string;
    refreshToken?: string;
    idToken?: string;
  },
) {
  const row = { id: `ts_${uniq()}`, organizationId: connection.organizationId, connectionId: connection.id };
  return db.tokenSet.create({
    data: {
      ...row,
      accessTokenEnc: seal("TokenSet", row, "accessTokenEnc", accessToken)!,
      refreshTokenEnc: seal("TokenSet", row, "refreshTokenEnc", refreshToken),
      idTokenEnc: seal("TokenSet", row, "idTokenEnc", idToken),
    },
  });
}

export async function seedConsentRequest(
  db: Db,
  {
    connection,
    pkceVerifier,
  }: { connection: { id: string; organizationId: string; providerId: string }; pkceVerifier?: string },
) {
  const row = { id: `cr_${uniq()}`, organizationId: connection.organizationId };
  return db.consentRequest.create({
    data: {
      ...row,
      connectionId: connection.id,
      providerId: connection.providerId,
      stateHash: crypto.createHash("sha256").update(uniq()).digest("hex"),
      pkceVerifierEnc: seal("ConsentRequest", row, "pkceVerifierEnc", pkceVerifier),
      expiresAt: new Date(Date.now() + 10 * 60_000),
    },
  });
}

/** A webhook delivery waiting in the queue (connection.connected, an empty payload unless given). */
export async function seedWebhookDelivery(
  db: Db,
  d: {
    organizationId: string;
    endpointId: string;
    nextAttemptAt?: Date;
    attempts?: number;
    eventType?: string;
    payload?: string;
  },
) {
  return db.webhookDelivery.create({
    data: { eventType: "connection.connected", payload: "{}", ...d },
  });
}

/** Every secret kind the schema has, for one organization: returns the plaintexts by "Table.field@rowId". */
export async function seedAllSecrets(db: Db, organizationId: string, label = "s") {
  const plain = new Map<string, string>();
  const put = (table: string, rowId: string, field: string, value: string) => (
    plain.set(`${table}.${field}@${rowId}`, value),
    value
  );
  const app = await seedOAuthApp(db, {
    organizationId,
    clientSecret: canary(`${label}-client-secret`),
    privateKey: canary(`${label}-private-key`),
  });
  put("OAuthApp", app.id, "clientSecretEnc", openSecret("OAuthApp", app, "clientSecretEnc"));
  put("OAuthApp", app.id, "privateKeyEnc", openSecret("OAuthApp", app, "privateKeyEnc"));
  const connection = await seedConnection(db, { organizationId, oauthAppId: app.id });
  const tokens = await seedTokenSet(db, {
    connection,
    accessToken: canary(`${label}-access`),
    refreshToken: canary(`${label}-refresh`),
    idToken: canary(`${label}-id`),
  });
  for (const f of ["accessTokenEnc", "refreshTokenEnc", "idTokenEnc"])
    put("TokenSet", tokens.id, f, openSecret("TokenSet", tokens, f));
  const consent = await seedConsentRequest(db, { connection, pkceVerifier: canary(`${label}-pkce`) });
  put("ConsentRequest", consent.id, "pkceVerifierEnc", openSecret("ConsentRequest", consent, "pkceVerifierEnc"));
  return { app, connection, tokens, consent, plain };
}
