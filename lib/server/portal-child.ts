// The portal process: Next.js (pages, consent, callbacks, server actions, the OpenAPI route) on a
// Unix socket that only the production server can reach. Started by lib/server/portal.ts; never run
// on its own. The production server in front of it answers the REST API itself and hands every
// other request here, so that Next's per-request cost and global patches stay out of the API's process.
import fs from "node:fs";
import http from "node:http";
import next from "next";
import { SHUTDOWN_GRACE_MS, drainProcess } from "@/lib/server/drain-process";
import { logger } from "@/lib/logger";
import { env } from "@/lib/env";
import { redisReady } from "@/lib/redis/client";
import { answerFrontRequests } from "@/lib/ipc/portal-channel";

async function main() {
  const socketPath = env().portalSocket;
  if (!socketPath || !process.send)
    throw new Error("portal-child is started by the production server (lib/server/portal.ts)");
  // tests only: held in the starting state while the file exists (a restart observed deterministically)
  const hold = env().testPortalHoldFile;
  while (hold && fs.existsSync(hold)) await new Promise((r) => setTimeout(r, 50));
  const app = next({ dev: false, dir: process.cwd(), port: env().port, hostname: "0.0.0.0" });
  // the consent-start limit is shared from the first request on (one connection, which Next's bundles share)
  await Promise.all([app.prepare(), redisReady()]);
  const handle = app.getRequestHandler();
  // requests come from the front server within its 16 KiB header limit, plus the client-address header it adds
  const server = http.createServer({ maxHeaderSize: 32 * 1024 }, (req, res) => void handle(req, res));
  server.keepAliveTimeout = 65_000;
  server.listen(socketPath, () => process.send!({ ready: true }));
  answerFrontRequests(); // the front server's scrapes ask for this process's metrics
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // requests in progress finish, refreshes started here (consent, "Refresh now") commit, buffered
    // audit rows are written: a little inside the front server's grace, which waits for this process
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    void drainProcess({ server, deadline: Date.now() + SHUTDOWN_GRACE_MS - 2000 }).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", () => undefined); // a terminal's ^C reaches the whole group: the front server decides
  // the front server is gone (even SIGKILLed): nothing can reach this socket any more
  process.on("disconnect", stop);
}

main().catch((err) => {
  logger.fatal({ err: { message: (err as Error).message } }, "the portal could not start");
  process.exit(1);
});
