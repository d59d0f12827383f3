import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { migrationStatus } from "@/lib/db/migrations";

export async function checkHealth() {
  const started = Date.now();
  let database: "ok" | "unreachable" = "ok";
  let migrations: "current" | "pending" | "unknown" = "unknown";
  try {
    await db().$queryRawUnsafe("SELECT 1");
    const m = await migrationStatus({ db: db(), dbKind: env().dbKind });
    migrations = m.current ? "current" : "pending";
  } catch {
    database = "unreachable";
  }
  return {
    status: database === "ok" && migrations === "current" ? ("ok" as const) : ("degraded" as const),
    database,
    databaseKind: env().dbKind,
    migrations,
    uptimeSeconds: Math.round(process.uptime()),
    checkedInMs: Date.now() - started,
  };
}
