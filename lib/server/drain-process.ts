// What a server process does when it is told to stop (SIGTERM), for the production server and the
// portal child alike: no new connections; requests in progress finish; no new refresh is claimed and
// the refreshes in flight finish and commit (held commits are retried); then the audit rows it
// buffered and its refresh journal are flushed. Everything is bounded by one deadline.
import type http from "node:http";
import { logger } from "@/lib/logger";
import { auditRowsBuffered, flushAuditBuffer } from "@/lib/audit/audit-buffer";
import { flushAuthFailureAudit } from "@/lib/audit/auth-failure-audit";
import { drainRefreshWork } from "@/lib/tokens/refresh-drain";
import { closeRefreshJournals } from "@/lib/tokens/refresh-journal";

/** From SIGTERM to exit, at most this long (Kubernetes: set terminationGracePeriodSeconds above it, e.g. 40). */
export const SHUTDOWN_GRACE_MS = 25_000;

const until = (deadline: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref());

export async function drainProcess({
  server,
  deadline,
  also = [],
}: {
  server: http.Server;
  deadline: number;
  also?: Array<Promise<unknown>>;
}): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // a keep-alive connection becomes idle once its last answer is out: close each as soon as it is
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  const refresh = await drainRefreshWork(deadline);
  await Promise.race([Promise.allSettled([closed, ...also]), until(deadline)]);
  clearInterval(idle);
  // whatever is still open now has had its chance
  server.closeAllConnections();
  // the tally of failed authentications of the current interval goes into the buffer first
  await flushAuthFailureAudit().catch(() => undefined);
  // audit rows: retried while there is time (the database may be coming back), then the last try
  // spills what is still refused to disk (embedded default) or counts it as dropped
  while (auditRowsBuffered() > 0 && Date.now() < deadline) {
    await flushAuditBuffer();
    if (auditRowsBuffered() > 0) await new Promise((r) => setTimeout(r, 250));
  }
  await Promise.race([flushAuditBuffer({ final: true }), until(deadline + 2000)]);
  await closeRefreshJournals();
  logger.info({ refresh }, "stopped");
}
