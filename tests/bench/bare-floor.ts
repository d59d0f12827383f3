// The floor for `npm run bench:api`: a bare Node `http` server doing only the token endpoint's
// essential work on the same database, with the fastest means this stack has — the API-key hash
// lookup and the connection (and token set) read in one prepared statement of the driver, the one
// the token endpoint uses (lib/db/hot-queries.ts), AES-GCM decryption — and nothing else (no request id, rate limits, zod,
// audit, freshness logic). Run as a child process by tests/bench/api.ts with the server's
// configuration in the environment (DATABASE_URL or CONSENTRY_DATA_DIR, keys); prints
// `{"listening":<port>}` on stdout when ready, on BENCH_FLOOR_PORT (default 0: a free port).
import http from "node:http";
import { db } from "@/lib/db/client";
import { hashApiKey } from "@/lib/api-keys/create-api-key";
import { openToken } from "@/lib/tokens/token-secrets";
import { keyring } from "@/lib/crypto/keyring";
import { hotQueries } from "@/lib/db/hot-queries";

const PATH_RE = /^\/api\/v1\/connections\/([^/]+)\/token$/;
const KEY_RE = /^Bearer (csk_[A-Za-z0-9_-]{43})$/;

function send(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
  // read (and ignore) the body, as the real endpoint does
  for await (const _ of req) void _;
  const m = PATH_RE.exec(req.url ?? "");
  if (req.method !== "POST" || !m) return send(res, 404, { error: "not found" });
  const k = KEY_RE.exec(req.headers.authorization ?? "");
  if (!k) return send(res, 401, { error: "unauthorized" });
  const connectionId = decodeURIComponent(m[1]!);
  const row = await hotQueries(db()).apiKeyWithConnection(hashApiKey(k[1]!), connectionId);
  const key = row?.key;
  if (
    !key ||
    key.revokedAt ||
    (key.expiresAt && key.expiresAt <= new Date()) ||
    !key.scopes.split(" ").includes("tokens:read")
  )
    return send(res, 401, { error: "unauthorized" });
  const c = row.connection;
  if (!c?.accessTokenEnc) return send(res, 404, { error: "not found" });
  const accessToken = openToken(
    { organizationId: key.organizationId, connectionId },
    "accessTokenEnc",
    c.accessTokenEnc,
  );
  send(res, 200, {
    access_token: accessToken,
    token_type: c.tokenType,
    expires_at: c.expiresAt?.toISOString() ?? null,
    scopes: c.scopes.split(" ").filter(Boolean),
    tenant_id: c.externalTenantId,
  });
}

async function main() {
  keyring(); // fail now, not on the first request, when the keys are missing
  await db().$queryRawUnsafe("SELECT 1");
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      process.stderr.write(`bare floor: ${err.message}\n`);
      if (!res.headersSent) send(res, 500, { error: "internal" });
      else res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.env.BENCH_FLOOR_PORT ?? 0), "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ listening: (server.address() as { port: number }).port }) + "\n");
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main().catch((err: Error) => {
  process.stderr.write(`bare floor could not start: ${err.message}\n`);
  process.exit(1);
});
