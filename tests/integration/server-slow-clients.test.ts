// Slow clients are cut off (SECURITY.md 45): sockets that send their headers at one byte a second
// (slowloris), or complete headers and then trickle the body, are closed by the production server
// within the configured timeouts (plus its one-second check), while everyone else is served.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureProductionBuild } from "../bench/api-server";
import { startFaultServer, type FaultServer } from "../helpers/fault-server";

const HEADERS_TIMEOUT_S = 2;
const REQUEST_TIMEOUT_S = 4;
/** Node checks the timeouts every connectionsCheckingInterval (1 s here); scheduling slack on a busy machine */
const SLACK_MS = 1000 + 1500;
const SOCKETS = 50;

/** Opens a socket that sends `head` at once, then one byte of `drip` a second; resolves with how long the server kept it open. */
function slowSocket(port: number, head: string, drip: string): Promise<{ openMs: number; answer: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let answer = "";
    let i = 0;
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(head);
      timer = setInterval(() => {
        if (!s.destroyed && s.writable) s.write(drip[i++ % drip.length]!);
      }, 1000);
    });
    let timer: NodeJS.Timeout | undefined;
    s.setEncoding("utf8");
    s.on("data", (d: string) => (answer += d));
    s.on("error", () => undefined);
    s.on("close", () => {
      clearInterval(timer);
      resolve({ openMs: Date.now() - started, answer });
    });
    // never longer than this: a server that does not cut the socket fails the assertion, not the run
    setTimeout(() => s.destroy(), 30_000).unref();
  });
}

describe("slow clients against the production server", { timeout: 120_000 }, () => {
  let buildError: string | null = null;
  let fault: FaultServer;

  beforeAll(async () => {
    buildError = ensureProductionBuild((s) => process.stderr.write(`${s}\n`));
    if (buildError) return;
    fault = await startFaultServer({
      env: {
        CONSENTRY_HEADERS_TIMEOUT_SECONDS: String(HEADERS_TIMEOUT_S),
        CONSENTRY_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_S),
      },
    });
  }, 120_000);
  afterAll(() => fault?.dispose(), 60_000);

  it(`${SOCKETS} slowloris sockets are closed within the headers timeout, ${SOCKETS} slow bodies within the request timeout; others are served meanwhile`, async (ctx) => {
    if (buildError) return ctx.skip();
    const port = Number(new URL(fault.url).port);
    const slowHeaders = Array.from({ length: SOCKETS }, (_, i) =>
      slowSocket(port, `GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-${i}: `, "abcdefghij"),
    );
    const slowBodies = Array.from({ length: SOCKETS }, () =>
      slowSocket(
        port,
        "POST /api/v1/connections HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        "aaaaaaaaaa",
      ),
    );
    // everyone else is served while they hang on
    const health = await fetch(`${fault.url}/api/health`);
    expect(health.status).toBe(200);
    const api = await fetch(`${fault.url}/api/v1/providers`);
    expect(api.status).toBe(401);

    const headers = await Promise.all(slowHeaders);
    const bodies = await Promise.all(slowBodies);
    const worst = (r: Array<{ openMs: number }>) => Math.max(...r.map((x) => x.openMs));
    process.stderr.write(
      `[server-slow-clients] slow headers closed after ≤ ${worst(headers)} ms, slow bodies after ≤ ${worst(bodies)} ms\n`,
    );
    for (const r of headers) {
      expect(r.openMs).toBeLessThan(HEADERS_TIMEOUT_S * 1000 + SLACK_MS);
      expect(r.openMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S * 1000 - 100);
    }
    for (const r of bodies) {
      expect(r.openMs).toBeLessThan(REQUEST_TIMEOUT_S * 1000 + SLACK_MS);
      expect(r.openMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_S * 1000 - 100);
      // Node answers a request that did not arrive in time with 408 before closing
      expect(r.answer).toMatch(/^HTTP\/1\.1 408 /);
    }
    expect((await fetch(`${fault.url}/api/health`)).status).toBe(200);
  });
});
