// What /api/health and /api/health/ready answer: the database and its migrations, and whether the
// background work keeps up (lib/background). Unauthenticated: counts, ages and failure classes only,
// never anything of an organization.
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { migrationStatus } from "@/lib/db/migrations";
import type { TBackgroundReason } from "@/lib/background/assess-background";
import { checkBackground } from "@/lib/background/check-background";

export type THealthReason = "database_unreachable" | "migrations_pending" | TBackgroundReason;

export async function checkHealth() {
  const started = Date.now();
  const e = env();
  let database: "ok" | "unreachable" = "ok";
  let migrations: "current" | "pending" | "unknown" = "unknown";
  try {
    await db().$queryRawUnsafe("SELECT 1");
    const m = await migrationStatus({ db: db(), dbKind: e.dbKind });
    migrations = m.current ? "current" : "pending";
  } catch {
    database = "unreachable";
  }
  const background = migrations === "current" ? await checkBackground({ db: db() }).catch(() => null) : null;
  const reasons: THealthReason[] = [
    ...(database === "unreachable" ? (["database_unreachable"] as const) : []),
    ...(migrations === "pending" ? (["migrations_pending"] as const) : []),
    ...(background?.reasons ?? []),
  ];
  return {
    status: reasons.length ? ("degraded" as const) : ("ok" as const),
    reasons,
    /** whether this instance can serve (/api/health/ready): the database answers and its migrations are current */
    ready: database === "ok" && migrations === "current",
    database,
    databaseKind: e.dbKind,
    migrations,
    scheduler: background?.scheduler ?? null,
    refresh: background?.refresh ?? null,
    webhooks: background?.webhooks ?? null,
    thresholdSeconds: e.healthOverdueSeconds,
    uptimeSeconds: Math.round(process.uptime()),
    checkedInMs: Date.now() - started,
  };
}
