// First-start work, run before the server listens: data folder, migrations, keys, and on the
// embedded default an administrator (password printed once) and a demo organization.
import fs from "node:fs";
import { env } from "@/lib/env";
import { db } from "@/lib/db/client";
import { applyMigrations, migrationStatus } from "@/lib/db/migrations";
import { ensureKeyFile, keyring } from "@/lib/crypto/keyring";
import { authSecret } from "@/lib/auth/secret";
import { generatePassword, hashPassword } from "@/lib/auth/password";
import { createOrganization } from "@/lib/organizations/create-organization";
import { logger } from "@/lib/logger";
import { sqliteFilePath } from "@/lib/db/urls";
import {
  checkWritableFolder,
  explainMigrationFailure,
  writableFolders,
  type WritableFolder,
} from "@/lib/setup/check-data-folder";

export const ADMIN_EMAIL = "admin@consentry.local";

export type BootstrapResult = { adminPassword?: string; demoOrganization?: string };

export async function bootstrap(): Promise<BootstrapResult> {
  const e = env();
  // before the first write, so that a read-only or full disk is named as such (creates the data folder)
  const folders = e.embedded ? writableFolders(e) : [];
  for (const f of folders) checkWritableFolder(f);
  if (e.embedded) {
    if (ensureKeyFile().created) logger.info({ dataDir: e.dataDir }, "generated an encryption key in the data folder");
  }
  keyring();
  authSecret();
  await migrate(folders);
  if (e.dbKind === "sqlite") {
    // WAL lets readers (the API) proceed while a writer (refresh) commits; it persists in the file.
    await db().$queryRawUnsafe("PRAGMA journal_mode=WAL");
    fs.chmodSync(sqliteFilePath(e.databaseUrl), 0o600);
  }
  const result: BootstrapResult = {};
  if (e.localLogin && (await db().user.count({ where: { passwordHash: { not: null } } })) === 0) {
    const password = generatePassword();
    await db().user.upsert({
      where: { email: ADMIN_EMAIL },
      create: { email: ADMIN_EMAIL, name: "Administrator", isStaff: true, passwordHash: await hashPassword(password) },
      update: { isStaff: true, passwordHash: await hashPassword(password) },
    });
    result.adminPassword = password;
  }
  if (e.demoData && (await db().organization.count()) === 0) {
    const admin = await db().user.findUnique({ where: { email: ADMIN_EMAIL }, select: { id: true } });
    const org = await createOrganization({
      db: db(),
      input: { name: "Demo Organization", slug: "demo" },
      ownerUserId: admin?.id,
      actor: { type: "system", label: "first start" },
    });
    result.demoOrganization = org.slug;
  }
  return result;
}

/**
 * Applies pending migrations; a database that is current is left alone (every start after the first:
 * no schema-engine process, and no need for the exclusive access `migrate deploy` wants on SQLite,
 * which fails while another process, e.g. the CLI, has the file open).
 */
async function migrate(folders: WritableFolder[]) {
  const e = env();
  const exists = e.dbKind === "postgresql" || fs.existsSync(sqliteFilePath(e.databaseUrl));
  if (exists) {
    if ((await migrationStatus({ db: db(), dbKind: e.dbKind })).current) return;
    // the schema engine wants the SQLite file to itself: our own connection must not stay open
    await db().$disconnect();
  }
  try {
    await applyMigrations({ databaseUrl: e.databaseUrl, dataDir: e.dataDir });
  } catch (err) {
    throw explainMigrationFailure(err, folders);
  }
}

/** The once-only console notice with the administrator's password. */
export function firstStartNotice(r: BootstrapResult, url: string): string | null {
  if (!r.adminPassword) return null;
  const lines = [
    "Consentry is set up. Sign in once with this account, then keep the password somewhere safe:",
    `  URL:      ${url}/sign-in`,
    `  E-mail:   ${ADMIN_EMAIL}`,
    `  Password: ${r.adminPassword}`,
    "It is shown only now. Forgot it? npm run cli -- user set-password --email " + ADMIN_EMAIL,
  ];
  const width = Math.max(...lines.map((l) => l.length));
  return [
    "",
    "┌" + "─".repeat(width + 2) + "┐",
    ...lines.map((l) => `│ ${l.padEnd(width)} │`),
    "└" + "─".repeat(width + 2) + "┘",
    "",
  ].join("\n");
}
