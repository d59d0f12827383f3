// API keys: "csk_" + 256 random bits, shown once, stored only as a SHA-256 hash with a visible prefix.
import crypto from "node:crypto";
import { z } from "zod";
import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";

// connections:export reads a connection's tokens in plaintext (inside an encrypted file): never implied by another scope
export const API_SCOPES = [
  "connections:read",
  "connections:write",
  "tokens:read",
  "proxy",
  "connections:export",
] as const;
export type TApiScope = (typeof API_SCOPES)[number];

export const ZCreateApiKey = z.object({
  name: z.string().trim().min(1, "validation.nameRequired").max(100, "validation.nameTooLong"),
  scopes: z.array(z.enum(API_SCOPES)).min(1, "validation.scopesRequired"),
  expiresAt: z.coerce
    .date()
    .refine((d) => d.getTime() > Date.now(), "validation.expiryPast")
    .optional(),
});

export function hashApiKey(key: string): string {
  return crypto.createHash("sha256").update(key).digest("hex");
}

export async function createApiKey({
  db,
  organizationId,
  input,
  actor,
  createdByUserId,
}: {
  db: Db;
  organizationId: string;
  input: unknown;
  actor: Actor;
  createdByUserId?: string;
}) {
  const parsed = ZCreateApiKey.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const key = `csk_${crypto.randomBytes(32).toString("base64url")}`;
  const row = await db.apiKey.create({
    data: {
      organizationId,
      name: parsed.data.name,
      prefix: key.slice(0, 12),
      hash: hashApiKey(key),
      scopes: [...new Set(parsed.data.scopes)].join(" "),
      expiresAt: parsed.data.expiresAt ?? null,
      createdByUserId: createdByUserId ?? null,
    },
  });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "api_key.created",
      outcome: "success",
      target: { type: "api_key", id: row.id },
      details: { name: row.name, prefix: row.prefix, scopes: row.scopes },
    },
    db,
  );
  return { id: row.id, key, prefix: row.prefix };
}

export async function revokeApiKey({
  db,
  organizationId,
  apiKeyId,
  actor,
}: {
  db: Db;
  organizationId: string;
  apiKeyId: string;
  actor: Actor;
}) {
  const { count } = await db.apiKey.updateMany({
    where: { id: apiKeyId, organizationId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  if (count !== 1)
    throw new AppError("not-found", "API key not found or already revoked", { i18n: { key: "errors.apiKeyNotFound" } });
  await recordAuditEvent(
    { organizationId, actor, action: "api_key.revoked", outcome: "success", target: { type: "api_key", id: apiKeyId } },
    db,
  );
}
