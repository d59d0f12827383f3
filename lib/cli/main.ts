// `npm run cli -- <command>`: administration without the UI. Results a script may need go to
// stdout alone; everything else goes to stderr.
import "@/lib/cli/logs-to-stderr";
import fs from "node:fs";
import { parseArgs } from "node:util";
import { env } from "@/lib/env";
import { db } from "@/lib/db/client";
import { applyMigrations } from "@/lib/db/migrations";
import { keyring, newKeyLine, prependKeyToFile, reloadKeyring } from "@/lib/crypto/keyring";
import { countStaleSecrets, reencryptAll } from "@/lib/crypto/reencrypt-all";
import { createOrganization } from "@/lib/organizations/create-organization";
import { addMember } from "@/lib/users/add-member";
import { generatePassword, hashPassword } from "@/lib/auth/password";
import { ZRole } from "@/lib/auth/roles";
import { recordAuditEvent } from "@/lib/audit/record-audit-event";
import { AppError } from "@/lib/errors";
import { bootstrap, firstStartNotice } from "@/lib/setup/bootstrap";
import { explainMigrationFailure, writableFolders } from "@/lib/setup/check-data-folder";
import { createApiKey, revokeApiKey } from "@/lib/api-keys/create-api-key";
import { exportConnection } from "@/lib/connections/export-connection";
import { importConnection, readExportFile } from "@/lib/connections/import-connection";
import { readPassphrase, writePrivateFile } from "@/lib/cli/passphrase";

const actor = { type: "system" as const, label: "cli" };
const out = (s: string) => process.stdout.write(s + "\n");
const say = (s: string) => process.stderr.write(s + "\n");

const HELP = `Consentry administration

  npm run cli -- <command> [options]

  setup                                        migrate, create keys, first admin and demo data (what npm start does first)
  migrate                                      apply database migrations
  org create --name <name> --slug <slug> [--owner <email>]
  org list
  user create --email <email> [--name <name>] [--org <slug> --role owner|admin|member] [--staff]
                                               prints a generated password on stdout (local sign-in)
  user invite --email <email> --org <slug> --role owner|admin|member
  user set-password --email <email>            prints a new generated password on stdout; it signs in once,
                                               then the person chooses their own
  staff add --email <email> | staff remove --email <email>
  api-key create --org <slug> --scopes connections:read,connections:write,tokens:read [--name <name>] [--expires-in-days <n>]
                                               prints the key (csk_…) alone on stdout; it is shown only once
  api-key list --org <slug>
  api-key revoke --org <slug> --prefix <csk_…prefix>
  keys generate                                prints a new key line for CONSENTRY_ENCRYPTION_KEYS
  keys rotate                                  embedded default: add a new key to the data folder, re-encrypt everything
  keys reencrypt                               re-encrypt everything under the first configured key
  keys status                                  how many secrets are not yet under the newest key
  connection export --org <slug> --id <connection id> [--out <file>]
                                               the encrypted export file (to <file>, mode 0600, or stdout)
  connection import --org <slug> --file <file> [--oauth-app <id>]
                                               prints the new connection's id on stdout
      The passphrase comes from CONSENTRY_EXPORT_PASSPHRASE, or is asked for (without echo) in a terminal.
`;

function opts(args: string[], spec: Record<string, { type: "string" | "boolean" }>) {
  return parseArgs({ args, options: spec, allowPositionals: false, strict: true }).values as Record<
    string,
    string | boolean | undefined
  >;
}

function need(v: unknown, name: string): string {
  if (typeof v !== "string" || !v) throw new AppError("validation", `--${name} is required`);
  return v;
}

async function findOrg(slug: string) {
  const org = await db().organization.findUnique({ where: { slug } });
  if (!org) throw new AppError("not-found", `No organization "${slug}"`);
  return org;
}

type Command = (rest: string[], verb: string) => Promise<number>;

async function setup(): Promise<number> {
  const r = await bootstrap();
  const notice = firstStartNotice(r, env().publicUrl);
  if (notice) say(notice);
  say("Setup complete.");
  return 0;
}

async function migrate(): Promise<number> {
  try {
    await applyMigrations({ databaseUrl: env().databaseUrl, dataDir: env().dataDir });
  } catch (err) {
    throw explainMigrationFailure(err, env().embedded ? writableFolders(env()) : []);
  }
  say("Migrations applied.");
  return 0;
}

async function orgCreate(rest: string[]): Promise<number> {
  const o = opts(rest, { name: { type: "string" }, slug: { type: "string" }, owner: { type: "string" } });
  const owner =
    typeof o.owner === "string" ? await db().user.findUnique({ where: { email: o.owner.toLowerCase() } }) : null;
  if (o.owner && !owner) throw new AppError("not-found", `No user ${o.owner}: create it first with "user create"`);
  const org = await createOrganization({
    db: db(),
    input: { name: o.name, slug: o.slug },
    ownerUserId: owner?.id,
    actor,
  });
  out(org.id);
  say(`Created organization ${org.name} (${org.slug}).`);
  return 0;
}

async function orgList(): Promise<number> {
  for (const org of await db().organization.findMany({ orderBy: { slug: "asc" } }))
    out(`${org.slug}\t${org.name}\t${org.id}`);
  return 0;
}

async function userCreate(rest: string[]): Promise<number> {
  const o = opts(rest, {
    email: { type: "string" },
    name: { type: "string" },
    org: { type: "string" },
    role: { type: "string" },
    staff: { type: "boolean" },
  });
  const email = need(o.email, "email").toLowerCase();
  if (await db().user.findUnique({ where: { email } })) throw new AppError("conflict", `User ${email} already exists`);
  const password = generatePassword();
  const user = await db().user.create({
    data: {
      email,
      name: (o.name as string) ?? null,
      isStaff: Boolean(o.staff),
      passwordHash: await hashPassword(password),
    },
  });
  if (o.org) {
    const org = await findOrg(o.org as string);
    await db().membership.create({
      data: { organizationId: org.id, userId: user.id, role: ZRole.parse(o.role ?? "member") },
    });
  }
  await recordAuditEvent({
    organizationId: null,
    actor,
    action: "user.created",
    outcome: "success",
    target: { type: "user", id: user.id },
    details: { email, staff: Boolean(o.staff) },
  });
  out(password);
  const signIn = env().localLogin
    ? "The password above works on the sign-in page."
    : `Local sign-in is off: they sign in with ${env().oidc?.displayName ?? "OpenID Connect"}.`;
  say(`Created ${email}${o.staff ? " (staff)" : ""}. ${signIn}`);
  return 0;
}

async function userInvite(rest: string[]): Promise<number> {
  const o = opts(rest, { email: { type: "string" }, org: { type: "string" }, role: { type: "string" } });
  const org = await findOrg(need(o.org, "org"));
  const r = await addMember({
    db: db(),
    organizationId: org.id,
    input: { email: o.email, role: o.role ?? "member" },
    actor,
    localLogin: env().localLogin,
  });
  if (r.password) out(r.password);
  say(
    r.kind === "member"
      ? `${r.email} is now ${r.role} of ${org.slug}.`
      : `Invited ${r.email} to ${org.slug} as ${r.role}; it applies at their first sign-in.`,
  );
  return 0;
}

async function userSetPassword(rest: string[]): Promise<number> {
  const o = opts(rest, { email: { type: "string" } });
  const email = need(o.email, "email").toLowerCase();
  const password = generatePassword();
  const { count } = await db().user.updateMany({
    where: { email },
    // a password chosen for them: at their next sign-in they choose their own (lib/auth/guards.ts)
    data: { passwordHash: await hashPassword(password), mustChangePassword: true },
  });
  if (count === 0) throw new AppError("not-found", `No user ${email}`);
  await recordAuditEvent({
    organizationId: null,
    actor,
    action: "user.password_set",
    outcome: "success",
    details: { email },
  });
  out(password);
  return 0;
}

async function staffSet(rest: string[], verb: string): Promise<number> {
  const o = opts(rest, { email: { type: "string" } });
  const email = need(o.email, "email").toLowerCase();
  const { count } = await db().user.updateMany({ where: { email }, data: { isStaff: verb === "add" } });
  if (count === 0) throw new AppError("not-found", `No user ${email}`);
  await recordAuditEvent({
    organizationId: null,
    actor,
    action: verb === "add" ? "staff.granted" : "staff.revoked",
    outcome: "success",
    details: { email },
  });
  say(`${email} is ${verb === "add" ? "now" : "no longer"} staff.`);
  return 0;
}

async function apiKeyCreate(rest: string[]): Promise<number> {
  const o = opts(rest, {
    org: { type: "string" },
    scopes: { type: "string" },
    name: { type: "string" },
    "expires-in-days": { type: "string" },
  });
  const org = await findOrg(need(o.org, "org"));
  const days = o["expires-in-days"] ? Number(o["expires-in-days"]) : undefined;
  if (days !== undefined && !(Number.isInteger(days) && days > 0))
    throw new AppError("validation", "--expires-in-days must be a positive whole number");
  const scopes = need(o.scopes, "scopes")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  const r = await createApiKey({
    db: db(),
    organizationId: org.id,
    input: {
      name: (o.name as string) ?? `cli ${new Date().toISOString().slice(0, 10)}`,
      scopes,
      ...(days ? { expiresAt: new Date(Date.now() + days * 86400_000) } : {}),
    },
    actor,
  });
  out(r.key);
  say(`Created API key ${r.prefix}… for ${org.slug}. It is shown only now.`);
  return 0;
}

async function apiKeyList(rest: string[]): Promise<number> {
  const o = opts(rest, { org: { type: "string" } });
  const org = await findOrg(need(o.org, "org"));
  const keys = await db().apiKey.findMany({ where: { organizationId: org.id }, orderBy: { createdAt: "asc" } });
  for (const k of keys) {
    const state = k.revokedAt ? "revoked" : k.expiresAt && k.expiresAt < new Date() ? "expired" : "valid";
    out(`${k.prefix}\t${k.name}\t${k.scopes}\t${state}`);
  }
  return 0;
}

async function apiKeyRevoke(rest: string[]): Promise<number> {
  const o = opts(rest, { org: { type: "string" }, prefix: { type: "string" } });
  const org = await findOrg(need(o.org, "org"));
  const k = await db().apiKey.findFirst({
    where: { organizationId: org.id, prefix: need(o.prefix, "prefix").slice(0, 12), revokedAt: null },
  });
  if (!k) throw new AppError("not-found", "No valid key with that prefix in this organization");
  await revokeApiKey({ db: db(), organizationId: org.id, apiKeyId: k.id, actor });
  say(`Revoked ${k.prefix}….`);
  return 0;
}

async function keysGenerate(): Promise<number> {
  out(newKeyLine(`k${Date.now().toString(36)}`));
  return 0;
}

/** `keys rotate` (embedded default: a new key in the data folder first) and `keys reencrypt`. */
async function keysReencrypt(_rest: string[], verb: string): Promise<number> {
  if (verb === "rotate") {
    if (env().encryptionKeys)
      throw new AppError(
        "bad-request",
        'Keys come from CONSENTRY_ENCRYPTION_KEYS: put a new key first in that list (npm run cli -- keys generate), restart, then run "keys reencrypt".',
      );
    const kid = prependKeyToFile();
    say(`New key ${kid} added to the data folder; older keys still decrypt.`);
  }
  reloadKeyring();
  const report = await reencryptAll({ db: db() });
  const stale = await countStaleSecrets({ db: db() });
  await recordAuditEvent({
    organizationId: null,
    actor,
    action: "keys.reencrypted",
    outcome: stale === 0 ? "success" : "failure",
    details: { ...report.byTable, keyId: keyring().primary, stale },
  });
  say(
    `Re-encrypted ${report.rewritten} values under ${keyring().primary}; ${report.alreadyCurrent} were current; ${stale} remain under older keys.`,
  );
  return stale === 0 ? 0 : 1;
}

async function keysStatus(): Promise<number> {
  const stale = await countStaleSecrets({ db: db() });
  out(String(stale));
  say(`Primary key ${keyring().primary}; ${stale} secret values under older keys.`);
  return 0;
}

async function connectionExport(rest: string[]): Promise<number> {
  const o = opts(rest, { org: { type: "string" }, id: { type: "string" }, out: { type: "string" } });
  const org = await findOrg(need(o.org, "org"));
  const passphrase = await readPassphrase({ confirm: true });
  const r = await exportConnection({
    db: db(),
    organizationId: org.id,
    connectionId: need(o.id, "id"),
    input: { passphrase },
    actor,
  });
  const text = `${JSON.stringify(r.envelope, null, 2)}\n`;
  if (typeof o.out === "string" && o.out) {
    writePrivateFile(o.out, text);
    say(`Wrote ${o.out} (mode 0600). Keep it and the passphrase apart.`);
  } else process.stdout.write(text);
  return 0;
}

async function connectionImport(rest: string[]): Promise<number> {
  const o = opts(rest, { org: { type: "string" }, file: { type: "string" }, "oauth-app": { type: "string" } });
  const org = await findOrg(need(o.org, "org"));
  const file = readExportFile(fs.readFileSync(need(o.file, "file"), "utf8"));
  const r = await importConnection({
    db: db(),
    organizationId: org.id,
    input: {
      file,
      passphrase: await readPassphrase({ confirm: false }),
      ...(typeof o["oauth-app"] === "string" ? { oauth_app_id: o["oauth-app"] } : {}),
    },
    actor,
  });
  out(r.id);
  say(`Imported into ${org.slug} as ${r.id} (${r.status}).`);
  return 0;
}

const COMMANDS: Record<string, Command> = {
  setup,
  migrate,
  "org create": orgCreate,
  "org list": orgList,
  "user create": userCreate,
  "user invite": userInvite,
  "user set-password": userSetPassword,
  "staff add": staffSet,
  "staff remove": staffSet,
  "api-key create": apiKeyCreate,
  "api-key list": apiKeyList,
  "api-key revoke": apiKeyRevoke,
  "keys generate": keysGenerate,
  "keys rotate": keysReencrypt,
  "keys reencrypt": keysReencrypt,
  "keys status": keysStatus,
  "connection export": connectionExport,
  "connection import": connectionImport,
};

async function run(argv: string[]): Promise<number> {
  const [group, verb = "", ...rest] = argv;
  const command = COMMANDS[group === "setup" || group === "migrate" ? group : `${group} ${verb}`];
  if (command) return command(rest, verb);
  say(HELP);
  return group && group !== "help" ? 2 : 0;
}

run(process.argv.slice(2))
  .then((code) =>
    db()
      .$disconnect()
      .finally(() => process.exit(code)),
  )
  .catch((err: unknown) => {
    if (err instanceof AppError) {
      say(
        `Error: ${err.message}${err.errors ? "\n" + err.errors.map((e) => `  ${e.path}: ${e.message}`).join("\n") : ""}`,
      );
    } else if (err instanceof Error && err.name === "TypeError" && /option|argument/i.test(err.message)) {
      say(`Error: ${err.message}\n\n${HELP}`);
    } else {
      say(`Error: ${(err as Error).message}`);
    }
    process.exit(1);
  });
