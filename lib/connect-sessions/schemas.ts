import { z } from "zod";
import { ZMetadata, ZScopes } from "@/lib/connections/schemas";

export const CONNECT_SESSION_DEFAULT_SECONDS = 30 * 60;
export const CONNECT_SESSION_MAX_SECONDS = 7 * 24 * 3600;

export const ZCreateConnectSession = z
  .object({
    provider: z.string().min(1).max(64),
    /** reconnect: an existing connection of this organization */
    connection_id: z.string().min(1).max(64).optional(),
    /** a new connection: its name (required then), settings, scopes, metadata and app */
    name: z.string().trim().min(1, "validation.nameRequired").max(100, "validation.nameTooLong").optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    scopes: ZScopes.optional(),
    metadata: ZMetadata.optional(),
    oauth_app_id: z.string().min(1).max(64).optional(),
    allowed_origins: z.array(z.string().max(2048)).min(1, "validation.originsRequired").max(10),
    return_url: z.string().max(2048).optional(),
    expires_in: z
      .number()
      .int()
      .min(10)
      .max(CONNECT_SESSION_MAX_SECONDS)
      .default(CONNECT_SESSION_DEFAULT_SECONDS)
      .describe("Seconds the session can be started in (10 to 604800; default 1800)"),
  })
  .strict();

export const CONNECT_SESSION_STATUSES = ["pending", "connected", "error", "expired"] as const;

export const ZConnectSessionOut = z
  .object({
    id: z.string(),
    status: z.enum(CONNECT_SESSION_STATUSES),
    provider: z.string(),
    connection_id: z.string().nullable(),
    tenant_id: z.string().nullable(),
    error: z
      .string()
      .nullable()
      .describe("Why it ended in error: e.g. access_denied, expired, revoked, used, tenant_conflict"),
    expires_at: z.string(),
    created_at: z.string(),
  })
  .meta({ id: "ConnectSession" });

export const ZCreatedConnectSession = z
  .object({
    id: z.string(),
    session_token: z.string().describe("Single use; shown once"),
    connect_url: z.string().describe("Open it with connect.js (popup or redirect), or send it"),
    expires_at: z.string(),
  })
  .meta({ id: "CreatedConnectSession" });
