// The only reader of process.env. Parsed once, validated with zod; everything else imports `env`.
import path from "node:path";
import { z } from "zod";
// relative: prisma.config.ts loads this file without the @/ alias
import { parseTrustedProxies } from "./http/trusted-proxies";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => (v === "" ? undefined : ["true", "1", "yes"].includes(v)))
  .optional();

const ZEnv = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  CONSENTRY_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .refine((u) => /^(postgres(ql)?:\/\/|file:)/.test(u), "DATABASE_URL must start with postgresql:// or file:")
    .optional(),
  /** default: http://localhost:<PORT> */
  CONSENTRY_URL: z.url().optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  CONSENTRY_ENCRYPTION_KEYS: z.string().optional(),
  AUTH_SECRET: z.string().min(32, "AUTH_SECRET must be at least 32 characters").optional(),
  CONSENTRY_LOCAL_LOGIN: bool,
  CONSENTRY_DEMO_DATA: bool,
  OIDC_ISSUER: z.url().optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_DISPLAY_NAME: z.string().min(1).default("Microsoft Entra ID"),
  CONSENTRY_STAFF_EMAILS: z.string().default(""),
  CONSENTRY_PROVIDER_HOSTS: z
    .string()
    .default("{}")
    .transform((s, ctx) => {
      try {
        const v = JSON.parse(s);
        if (
          v &&
          typeof v === "object" &&
          !Array.isArray(v) &&
          Object.entries(v).every(([k, x]) => URL.canParse(k) && typeof x === "string" && URL.canParse(x))
        )
          return v as Record<string, string>;
      } catch {}
      ctx.addIssue({
        code: "custom",
        message: 'a JSON object of origins, e.g. {"https://login.windows.net":"https://login.partner.example"}',
      });
      return z.NEVER;
    }),
  CONSENTRY_CRON_SECRET: z.string().min(32, "CONSENTRY_CRON_SECRET must be at least 32 characters").optional(),
  CONSENTRY_REFRESH_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  CONSENTRY_HEALTH_OVERDUE_SECONDS: z.coerce.number().int().min(10).max(604_800).default(600),
  CONSENTRY_METRICS_TOKEN: z.string().min(32, "CONSENTRY_METRICS_TOKEN must be at least 32 characters").optional(),
  CONSENTRY_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  CONSENTRY_METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  CONSENTRY_REFRESH_JOURNAL: z.string().min(1).optional(),
  CONSENTRY_DB_POOL_SIZE: z.coerce.number().int().min(2).max(500).default(10),
  CONSENTRY_HEADERS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(10),
  CONSENTRY_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  CONSENTRY_REFRESH_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  CONSENTRY_REFRESH_HOST_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
  CONSENTRY_EXPIRY_WARNING_DAYS: z.coerce.number().int().min(1).max(365).default(14),
  CONSENTRY_API_RATE_PER_KEY: z.coerce.number().int().min(1).default(1200),
  CONSENTRY_API_RATE_PER_ORG: z.coerce.number().int().min(1).default(6000),
  CONSENTRY_PROXY_MAX_RESPONSE_MB: z.coerce.number().int().min(1).max(10_240).default(100),
  CONSENTRY_ACTIVITY_POLL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  CONSENTRY_API_AUTH_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100_000).default(30),
  CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  CONSENTRY_REDIS_URL: z
    .string()
    .refine(
      (u) => u === "" || (/^rediss?:\/\//.test(u) && URL.canParse(u)),
      "CONSENTRY_REDIS_URL must be a redis:// or rediss:// URL",
    )
    .optional(),
  CONSENTRY_REDIS_PREFIX: z.string().min(1).max(100).default("consentry:"),
  CONSENTRY_TRUSTED_PROXIES: z
    .string()
    .default("")
    .transform((s, ctx) => {
      const r = parseTrustedProxies(s);
      if ("ranges" in r) return r.ranges;
      ctx.addIssue({
        code: "custom",
        message: `not an address range: ${r.invalid.map((x) => JSON.stringify(x)).join(", ")} (comma-separated CIDRs, e.g. 10.0.0.0/8,2001:db8::/32)`,
      });
      return z.NEVER;
    }),
  CONSENTRY_CONSENT_LINK_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(24 * 7),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS: bool,
  CONSENTRY_TEST_PORTAL_HOLD_FILE: z.string().min(1).optional(),
  // set by the production server for its portal child (lib/server/portal.ts), never by hand
  CONSENTRY_PORTAL_SOCKET: z.string().min(1).optional(),
});

export type TEnv = ReturnType<typeof loadEnv>;

export function loadEnv(source: Record<string, string | undefined> = process.env) {
  const parsed = ZEnv.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`Invalid configuration:\n${lines}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.CONSENTRY_DATA_DIR);
  const databaseUrl = e.DATABASE_URL ?? `file:${path.join(dataDir, "consentry.db")}`;
  const dbKind = databaseUrl.startsWith("file:") ? ("sqlite" as const) : ("postgresql" as const);
  const embedded = dbKind === "sqlite";
  const oidcConfigured = Boolean(e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET);
  if (e.OIDC_ISSUER && !oidcConfigured) {
    throw new Error(
      "Invalid configuration:\n  OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are required too",
    );
  }
  return {
    nodeEnv: e.NODE_ENV,
    dataDir,
    databaseUrl,
    dbKind,
    /** SQLite in the data folder: the zero-setup default. */
    embedded,
    publicUrl: (e.CONSENTRY_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    port: e.PORT,
    /** "kid:base64key,kid:base64key"; the first encrypts, all decrypt. Absent on the embedded default: a key file in the data folder. */
    encryptionKeys: e.CONSENTRY_ENCRYPTION_KEYS,
    authSecret: e.AUTH_SECRET,
    /** Password sign-in without an identity provider: on by default only on the embedded default. */
    localLogin: e.CONSENTRY_LOCAL_LOGIN ?? (embedded && !oidcConfigured),
    demoData: e.CONSENTRY_DEMO_DATA ?? embedded,
    oidc: oidcConfigured
      ? {
          issuer: e.OIDC_ISSUER!,
          clientId: e.OIDC_CLIENT_ID!,
          clientSecret: e.OIDC_CLIENT_SECRET!,
          displayName: e.OIDC_DISPLAY_NAME,
        }
      : null,
    staffEmails: e.CONSENTRY_STAFF_EMAILS.split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
    logLevel: e.LOG_LEVEL,
    /** real provider origin → origin actually used (tests point them at local emulators) */
    providerHosts: e.CONSENTRY_PROVIDER_HOSTS,
    consentLinkTtlHours: e.CONSENTRY_CONSENT_LINK_TTL_HOURS,
    /** bearer secret of POST /api/cron/refresh; the route is off without it */
    cronSecret: e.CONSENTRY_CRON_SECRET,
    /** in-process refresh timer period, 60 s in every mode (leases make several instances safe); 0 turns it off */
    refreshIntervalSeconds: e.CONSENTRY_REFRESH_INTERVAL_SECONDS,
    /** background work overdue by more than this makes /api/health `degraded` and shows staff a banner */
    healthOverdueSeconds: e.CONSENTRY_HEALTH_OVERDUE_SECONDS,
    /**
     * GET /api/metrics (Prometheus): on the main port behind this bearer secret, and/or without one on
     * its own listener at metricsHost:metricsPort (loopback by default). Off (404, nothing recorded) without either.
     */
    metrics: {
      token: e.CONSENTRY_METRICS_TOKEN,
      port: e.CONSENTRY_METRICS_PORT,
      host: e.CONSENTRY_METRICS_HOST,
      enabled: Boolean(e.CONSENTRY_METRICS_TOKEN || e.CONSENTRY_METRICS_PORT),
    },
    expiryWarningDays: e.CONSENTRY_EXPIRY_WARNING_DAYS,
    /**
     * Folder of the refresh journal (lib/tokens/refresh-journal.ts), or null when it is off: on by
     * default on the embedded default (the data folder's `journal`), off with PostgreSQL unless set.
     */
    refreshJournalDir:
      e.CONSENTRY_REFRESH_JOURNAL === "off"
        ? null
        : e.CONSENTRY_REFRESH_JOURNAL
          ? path.resolve(e.CONSENTRY_REFRESH_JOURNAL)
          : embedded
            ? path.join(dataDir, "journal")
            : null,
    /** connections each database pool of a process may open (Prisma's, and the hot statements' on PostgreSQL) */
    dbPoolSize: e.CONSENTRY_DB_POOL_SIZE,
    /** the production server closes a connection whose request headers (or whole request) have not arrived within these */
    headersTimeoutSeconds: e.CONSENTRY_HEADERS_TIMEOUT_SECONDS,
    requestTimeoutSeconds: Math.max(e.CONSENTRY_REQUEST_TIMEOUT_SECONDS, e.CONSENTRY_HEADERS_TIMEOUT_SECONDS),
    /** scheduled refreshes in flight per process, and per token-endpoint host (one slow host cannot take them all) */
    refreshConcurrency: e.CONSENTRY_REFRESH_CONCURRENCY,
    refreshHostConcurrency: Math.min(e.CONSENTRY_REFRESH_HOST_CONCURRENCY, e.CONSENTRY_REFRESH_CONCURRENCY),
    /** REST API requests a minute */
    apiRatePerKey: e.CONSENTRY_API_RATE_PER_KEY,
    apiRatePerOrg: e.CONSENTRY_API_RATE_PER_ORG,
    /** the provider proxy streams answers up to this many bytes, then cuts the stream off */
    proxyMaxResponseBytes: e.CONSENTRY_PROXY_MAX_RESPONSE_MB * 1024 * 1024,
    /** the Office 365 Activity API catch-up poll: each enabled subscription is listed this often; 0 turns the timer off */
    activityPollSeconds: e.CONSENTRY_ACTIVITY_POLL_SECONDS,
    /** failed REST API authentications (401) one client address may make per window before every request from it gets 429 */
    apiAuthFailuresPerIp: e.CONSENTRY_API_AUTH_FAILURES_PER_IP,
    apiAuthFailureWindowSeconds: e.CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS,
    /** failed authentications are audited as one row per client address per this many seconds */
    apiAuthFailureAuditSeconds: e.CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS,
    /** Redis that several instances share their limits, app-only token cache and refresh signals through; null: each process keeps its own */
    redisUrl: e.CONSENTRY_REDIS_URL || null,
    /** prefix of every Redis key and channel (several deployments, or test runs, on one Redis) */
    redisPrefix: e.CONSENTRY_REDIS_PREFIX,
    /** proxies whose X-Forwarded-For is believed for the client address (lib/http/client-ip.ts); empty: the socket peer */
    trustedProxies: e.CONSENTRY_TRUSTED_PROXIES,
    /** the Unix socket the portal child listens on (set by the production server for it) */
    portalSocket: e.CONSENTRY_PORTAL_SOCKET,
    /** TEST-ONLY: a portal process starting while this file exists waits for it to go (tests hold a restart in its starting state) */
    testPortalHoldFile: e.CONSENTRY_TEST_PORTAL_HOLD_FILE,
    egress: {
      /**
       * TEST-ONLY: lets lib/oauth/egress.ts reach loopback (127.0.0.0/8, ::1) over http:// or https://,
       * so test suites can talk to a local authorization server. Private, link-local and cloud-metadata
       * ranges stay blocked even then. Never set this in a real deployment.
       */
      allowLoopback: e.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS ?? false,
    },
  };
}

/**
 * The environment a child process of ours starts with (the portal, prisma migrate): this process's own,
 * plus `extra`. Passed on whole, not read: the child validates what it reads in its own lib/env.ts.
 */
export function childProcessEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

let cached: TEnv | undefined;
/** The parsed configuration of this process. */
/**
 * Why CONSENTRY_URL looks wrong for this server, or null: set to a loopback address (localhost,
 * 127.0.0.1, [::1]) whose port is not the one the server listens on, every redirect URI and link it
 * prints would point at another process.
 */
export function publicUrlPortMismatch(publicUrl: string, port: number): string | null {
  let u: URL;
  try {
    u = new URL(publicUrl);
  } catch {
    return null;
  }
  if (!["localhost", "127.0.0.1", "[::1]"].includes(u.hostname)) return null;
  const urlPort = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  if (urlPort === port) return null;
  return `CONSENTRY_URL is ${publicUrl} but the server listens on port ${port}: redirect URIs, consent links and API examples will point at port ${urlPort}. Unset CONSENTRY_URL (it then follows PORT) or make the two agree.`;
}

export function env(): TEnv {
  return (cached ??= loadEnv());
}
