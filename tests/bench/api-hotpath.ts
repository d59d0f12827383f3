// `npx tsx tests/bench/api-hotpath.ts [--n 20000] [--concurrency 32] [--only handleApiRequest]`: CPU time per token request,
// in process, without HTTP — handleApiRequest (what the production server's fast path runs) against
// the bare floor's work (key hash lookup + connection read + AES-GCM decrypt) and against each stage
// alone. CPU time (process.cpuUsage) rather than wall time, so a busy machine skews it less than an
// HTTP benchmark. On a fresh, migrated SQLite database in tests/.tmp (or DATABASE_URL, used as is).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { ROOT } from "./api-server";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "32" },
    only: { type: "string" },
  },
});
const N = Number(args.n);
const CONC = Number(args.concurrency);

async function main() {
  const dir = fs.mkdtempSync(path.join(ROOT, "tests", ".tmp", "hotpath-"));
  const external = process.env.DATABASE_URL;
  process.env.CONSENTRY_DATA_DIR = dir;
  process.env.CONSENTRY_API_RATE_PER_KEY = "1000000000";
  process.env.CONSENTRY_API_RATE_PER_ORG = "1000000000";
  process.env.LOG_LEVEL = "warn";
  if (!external) process.env.DATABASE_URL = `file:${path.join(dir, "consentry.db")}`;
  if (!process.env.CONSENTRY_ENCRYPTION_KEYS)
    process.env.CONSENTRY_ENCRYPTION_KEYS = `hot:${crypto.randomBytes(32).toString("base64")}`;
  try {
    const { env } = await import("@/lib/env");
    const { applyMigrations } = await import("@/lib/db/migrations");
    const { db } = await import("@/lib/db/client");
    const { hotQueries } = await import("@/lib/db/hot-queries");
    const { createApiKey, hashApiKey } = await import("@/lib/api-keys/create-api-key");
    const { authenticateApiKey } = await import("@/lib/api-keys/authenticate-api-key");
    const { saveTokenSet } = await import("@/lib/tokens/save-token-set");
    const { openToken } = await import("@/lib/tokens/token-secrets");
    const { getFreshToken } = await import("@/lib/tokens/get-fresh-token");
    const { handleApiRequest, apiAuditValues } = await import("@/lib/api/handle-api-request");
    const { bufferAuditValues, flushAuditBuffer } = await import("@/lib/audit/audit-buffer");
    if (!external) {
      await applyMigrations({ databaseUrl: env().databaseUrl, dataDir: dir, root: ROOT });
      await db().$queryRawUnsafe("PRAGMA journal_mode=WAL");
    }

    const org = await db().organization.create({
      data: { slug: `hot-${process.pid}-${Date.now()}`, name: "Hot path" },
    });
    const { key } = await createApiKey({
      db: db(),
      organizationId: org.id,
      input: { name: "hot", scopes: ["tokens:read"] },
      actor: { type: "system" },
    });
    const ids: string[] = [];
    const expiresAt = new Date(Date.now() + 6 * 3600_000);
    for (let i = 0; i < 100; i++) {
      const id = crypto.randomUUID();
      await db().$transaction(async (tx) => {
        await tx.connection.create({
          data: {
            id,
            organizationId: org.id,
            providerId: "generic-oauth2",
            name: `hot ${i}`,
            status: "active",
            scopes: "openid",
            settings: "{}",
            expiresAt,
          },
        });
        await saveTokenSet({
          tx,
          organizationId: org.id,
          connectionId: id,
          data: {
            accessToken: `at-${i}`,
            refreshToken: null,
            idToken: null,
            tokenType: "Bearer",
            expiresAt,
            refreshTokenExpiresAt: null,
            scopes: null,
            metadata: {},
          },
        });
      });
      ids.push(id);
    }
    const authorization = `Bearer ${key}`;
    let n = 0;
    const nextId = () => ids[n++ % ids.length]!;

    const floor = async () => {
      const id = nextId();
      // the one statement the token endpoint and the HTTP floor use (key + connection + token set)
      const r = await hotQueries(db()).apiKeyWithConnection(hashApiKey(key), id);
      return JSON.stringify({
        access_token: openToken(
          { organizationId: r!.key.organizationId, connectionId: id },
          "accessTokenEnc",
          r!.connection!.accessTokenEnc!,
        ),
      });
    };
    const stages: Array<[string, () => Promise<unknown>]> = [
      ["floor: key lookup + connection read + decrypt", floor],
      ["authenticateApiKey alone", () => authenticateApiKey({ db: db(), authorization })],
      ["getFreshToken alone", () => getFreshToken({ db: db(), organizationId: org.id, connectionId: nextId() })],
      [
        "audit record alone (buffer + batched insert)",
        async () => {
          const id = nextId();
          const principal = {
            keyId: "key",
            organizationId: org.id,
            scopes: new Set(["tokens:read"]),
            prefix: "csk_abcd",
          };
          bufferAuditValues(
            db(),
            apiAuditValues(
              principal,
              "getToken",
              { method: "POST", url: new URL(`http://internal/api/v1/connections/${id}/token`), ip: "127.0.0.1" },
              200,
              crypto.randomUUID(),
            ),
          );
        },
      ],
      [
        "handleApiRequest (the fast path's work)",
        async () => {
          const res = await handleApiRequest(db(), {
            method: "POST",
            url: new URL(`http://internal/api/v1/connections/${nextId()}/token`),
            headers: new Headers({ authorization, "content-type": "application/json" }),
            body: "{}",
            ip: "127.0.0.1",
          });
          if (res.status !== 200) throw new Error(String(res.body));
        },
      ],
    ];

    const run = async (fn: () => Promise<unknown>, count: number) => {
      let left = count;
      await Promise.all(
        Array.from({ length: CONC }, async () => {
          while (left-- > 0) await fn();
        }),
      );
    };
    const results: string[] = [];
    for (const [label, fn] of stages.filter(([l]) => !args.only || l.includes(args.only))) {
      await run(fn, Math.min(2000, N)); // warm-up
      await flushAuditBuffer();
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      await run(fn, N);
      await flushAuditBuffer();
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      const us = (cpu.user + cpu.system) / N;
      const mainUs = (elu.active * 1000) / N;
      results.push(
        `${label.padEnd(44)} ${us.toFixed(0).padStart(6)} µs CPU/request (${mainUs.toFixed(0).padStart(3)} µs on the event loop)  ${(N / (wall / 1000)).toFixed(0).padStart(7)} req/s wall (in process)`,
      );
    }
    process.stdout.write(`${env().dbKind}, N=${N}, concurrency ${CONC}\n${results.join("\n")}\n`);
    await new Promise((r) => setTimeout(r, 1000)); // audit flushes still in flight
    await flushAuditBuffer();
    await db().$disconnect();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: Error) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
