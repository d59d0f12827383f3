// Exactly-once refresh across OS processes against a real authorization server (oidc-provider with
// refresh-token rotation, SECURITY.md Refresh 16), and a lost token response in-process. Crashed
// workers: refresh-crash.test.ts.
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  // before lib/env is first read: lets egress reach the OP on 127.0.0.1
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { createDb } from "@/lib/db/client";
import { refreshClaimed, refreshConnection } from "@/lib/tokens/refresh-connection";
import { claimDueRows } from "@/lib/tokens/refresh-batch";
import { commitRefresh, type RefreshCommit } from "@/lib/tokens/commit-refresh";
import { LEASE_MS, releaseLease } from "@/lib/tokens/lease";
import { getAppCredentials } from "@/lib/oauth-apps/get-app-credentials";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { faults } from "../fixtures/http-emulator";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import { connectGenericViaOp, makeDue, readConnection, storedTokens, workerPool } from "../helpers/lifecycle";

let op: OidcServer;
const workers = workerPool();

beforeAll(async () => {
  op = await createOidcServer({
    redirectUris: [callbackUrl("generic-oauth2")],
    ttl: { AccessToken: 3600, RefreshToken: 3600 },
  });
});
afterAll(async () => {
  workers.killAll();
  await op?.close();
});

const connect = (t: TestDatabase) => connectGenericViaOp(op, t);
const { start: startPool, boot, release } = workers;

describeEachDb("refresh across processes (oidc-provider)", (getDb) => {
  beforeAll(async () => {
    const t = getDb();
    // what bootstrap does for the embedded default: readers proceed while a writer commits
    if (t.kind === "sqlite") await t.db.$queryRawUnsafe("PRAGMA journal_mode=WAL");
    startPool(t, 2);
  });
  beforeEach(() => {
    op.clearFaults();
    op.setRotateRefreshToken(true);
  });

  it("20 concurrent refresh attempts in two processes: exactly one refresh grant, no revoked grant, everyone gets the stored token", async () => {
    const t = getDb();
    const ws = boot(t, 2);
    const { organizationId, connectionId } = await connect(t);
    const before = await storedTokens(t.db, connectionId);
    expect(before.refreshToken).toBeTruthy();
    await makeDue(t, connectionId);
    // 120 s left, and every caller asks for 600: the stored token is too old for all of them, the
    // refreshed one (3600 s) is enough for all of them, whenever each caller first reads it. (A caller
    // asking more than any token lives would rightly refresh again once it has read the new one.)
    await t.db.connection.update({ where: { id: connectionId }, data: { expiresAt: new Date(Date.now() + 120_000) } });
    const minValidity = 600;
    op.resetRecording();

    // process 1: ten on-demand callers; process 2: five on-demand callers and five scheduler-style refreshes
    ws[0]!.send({ mode: "fresh", organizationId, connectionId, count: 10, minValidity });
    ws[1]!.send({ mode: "mixed", organizationId, connectionId, count: 10, minValidity });
    await Promise.all(ws.map((w) => w.next("ready")));
    expect(new Set(ws.map((w) => w.pid)).size).toBe(2);
    for (const w of ws) w.go();
    const outputs = await Promise.all(ws.map((w) => w.next("result", 30_000)));
    release(...ws);

    expect(op.counters.refreshed).toBe(1);
    expect(op.events["refresh_token.consumed"]).toBe(1);
    expect(op.events["grant.revoked"]).toBe(0);
    expect(op.counters.tokenErrors).toBe(0);

    const after = await storedTokens(t.db, connectionId);
    expect(after.version).toBe(before.version! + 1);
    expect(after.refreshToken).not.toBe(before.refreshToken); // rotated, and the new one was kept
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.connection.status).toBe("active");
    const results = outputs.flatMap(
      (o) => o.results as Array<{ ok: boolean; accessToken?: string; error?: string; expiresAt?: string }>,
    );
    expect(results).toHaveLength(20);
    for (const r of results) {
      expect(r, JSON.stringify(r)).toMatchObject({ ok: true, accessToken: after.accessToken });
      expect(new Date(r.expiresAt!).getTime()).toBeGreaterThan(Date.now());
    }
    // the token everyone holds works at the provider
    const me = await fetch(op.endpoints.userinfo, { headers: { authorization: `Bearer ${after.accessToken}` } });
    expect(me.status).toBe(200);
  });

  it("two schedulers (refreshDue in two processes) over the same due connections: each refreshed exactly once", async () => {
    const t = getDb();
    const ws = boot(t, 2);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await connect(t)).connectionId);
    for (const id of ids) await makeDue(t, id);
    op.resetRecording();
    for (const w of ws) w.send({ mode: "refresh-due" });
    await Promise.all(ws.map((w) => w.next("ready")));
    for (const w of ws) w.go();
    const summaries = (await Promise.all(ws.map((w) => w.next("result", 30_000)))).map(
      (m) => m.summary as { refreshed: number; failed: Record<string, number> },
    );
    expect(op.counters.refreshed).toBe(ids.length);
    expect(op.events["refresh_token.consumed"]).toBe(ids.length);
    expect(op.events["grant.revoked"]).toBe(0);
    expect(summaries.reduce((n, s) => n + s.refreshed, 0)).toBe(ids.length);
    for (const s of summaries) expect(s.failed).toEqual({});
    for (const id of ids) {
      const c = await storedTokens(t.db, id);
      expect(c.version).toBe(2);
      expect(c.connection.nextRefreshAt!.getTime()).toBeGreaterThan(Date.now() + 40 * 60_000);
    }
  });

  it("two schedulers started at the same moment over the same due rows: disjoint claims (none finds a row busy), each row refreshed exactly once", async () => {
    const t = getDb();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await connect(t)).connectionId);
    for (const id of ids) await makeDue(t, id);
    op.resetRecording();
    // (both runs are in this one process, whose per-host budget they share: larger than the rows here)
    const [a, b] = await Promise.all([
      refreshDue({ db: t.db, owner: "scheduler-a", hostConcurrency: 16, batchSize: 5 }),
      refreshDue({ db: t.db, owner: "scheduler-b", hostConcurrency: 16, batchSize: 5 }),
    ]);
    // a row is claimed by one statement of one scheduler: the other never lists it, so never collides on it
    expect(a.busy + b.busy).toBe(0);
    expect(a.due + b.due).toBe(ids.length);
    expect(a.refreshed + b.refreshed).toBe(ids.length);
    expect({ ...a.failed, ...b.failed }).toEqual({});
    expect(op.counters.refreshed).toBe(ids.length);
    expect(op.events["grant.revoked"]).toBe(0);
    for (const id of ids) expect((await readConnection(t.db, id)).leaseOwner).toBeNull();
  });

  it("a claimed row that waited past half its lease: the lease is extended before anything is sent, and a row whose lease was lost meanwhile is left to its new holder", async () => {
    const t = getDb();
    const kept = (await connect(t)).connectionId;
    const lost = (await connect(t)).connectionId;
    for (const id of [kept, lost]) await makeDue(t, id);
    const owner = "scheduler-slow";
    const rows = await claimDueRows({ db: t.db, owner, now: new Date(), ttlMs: LEASE_MS, limit: 10 });
    expect(rows.map((r) => r.id).sort()).toEqual([kept, lost].sort());
    // meanwhile `lost`'s lease ran out and another worker took it
    await t.db.connection.update({
      where: { id: lost },
      data: { leaseOwner: "other-worker", leaseUntil: new Date(Date.now() + LEASE_MS) },
    });
    op.resetRecording();
    const io = {
      appCredentials: (appId: string, organizationId: string) => getAppCredentials({ db: t.db, appId, organizationId }),
      write: (commit: RefreshCommit) => commitRefresh({ db: t.db, commit }),
      release: (connectionId: string) => releaseLease({ db: t.db, connectionId, owner }),
      bufferedAudit: false,
    };
    // claimed a whole lease ago: both must first be re-asserted
    const claimedAt = Date.now() - LEASE_MS;
    const opts = { db: t.db, owner, now: () => new Date(), deadlineMs: 8000, claimedAt, io };
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(await refreshClaimed(byId.get(lost)!, opts)).toEqual({ result: "busy" });
    expect(op.counters.tokenCalls).toBe(0);
    expect(await readConnection(t.db, lost)).toMatchObject({ leaseOwner: "other-worker" });
    expect(await refreshClaimed(byId.get(kept)!, opts)).toEqual({ result: "refreshed" });
    expect(op.counters.refreshed).toBe(1);
    expect(await readConnection(t.db, kept)).toMatchObject({ leaseOwner: null, leaseUntil: null });
  });

  it("under the lease, a refresh is not sent when the token the caller found stale was replaced meanwhile (ifVersion), or when a scheduler finds the row no longer due (onlyIfDue)", async () => {
    const t = getDb();
    const { connectionId } = await connect(t);
    const v1 = (await storedTokens(t.db, connectionId)).version!;
    op.resetRecording();
    // another worker refreshes first
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "refreshed" });
    expect(op.counters.refreshed).toBe(1);
    // a caller that saw v1 and then got the lease: nothing to do, nothing sent
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand", ifVersion: v1 })).toEqual({
      result: "already_fresh",
    });
    // a scheduler that listed the row before that refresh: it is no longer due
    expect(await refreshConnection({ db: t.db, connectionId, reason: "scheduled", onlyIfDue: true })).toEqual({
      result: "busy",
    });
    expect(op.counters.tokenCalls).toBe(1);
    // the current version, or a due row, is refreshed
    await makeDue(t, connectionId);
    expect(
      await refreshConnection({ db: t.db, connectionId, reason: "scheduled", onlyIfDue: true, ifVersion: v1 + 1 }),
    ).toEqual({ result: "refreshed" });
    expect(op.counters.refreshed).toBe(2);
    expect(op.events["grant.revoked"]).toBe(0);
    expect((await readConnection(t.db, connectionId)).leaseOwner).toBeNull();
  });

  it("another process commits between the refresh transaction's start and its write: the rotated tokens are still saved (SQLite WAL snapshot)", async () => {
    const t = getDb();
    const { organizationId, connectionId } = await connect(t);
    const before = await storedTokens(t.db, connectionId);
    const otherProcess = createDb(t.url); // a second database connection, as another process would have
    try {
      const interleaved = t.db.$extends({
        query: {
          tokenSet: {
            async updateMany({ args, query }) {
              await otherProcess.organization.update({
                where: { id: organizationId },
                data: { name: `renamed ${Date.now()}` },
              });
              return query(args);
            },
          },
        },
      }) as unknown as typeof t.db;
      op.resetRecording();
      expect(await refreshConnection({ db: interleaved, connectionId, reason: "on_demand" })).toEqual({
        result: "refreshed",
      });
    } finally {
      await otherProcess.$disconnect();
    }
    const after = await storedTokens(t.db, connectionId);
    expect(after.version).toBe(before.version! + 1);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    // the stored (rotated) refresh token is the live one
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "refreshed" });
    expect(op.counters.refreshed).toBe(2);
    expect(op.events["grant.revoked"]).toBe(0);
  });

  it("lost response in-process (processFirst + destroy): retryable at first, then invalid_grant → needs_reconsent; non-rotating: the retry recovers", async () => {
    const t = getDb();
    const rotating = await connect(t);
    op.resetRecording();
    op.failNext(faults.lostResponse());
    const lost = await refreshConnection({ db: t.db, connectionId: rotating.connectionId, reason: "on_demand" });
    expect(lost).toMatchObject({ result: "failed", failureClass: "retryable", errorCode: "network" });
    expect(await readConnection(t.db, rotating.connectionId)).toMatchObject({
      status: "active",
      refreshAttempts: 1,
      lastErrorCode: "network",
    });
    const retry = await refreshConnection({ db: t.db, connectionId: rotating.connectionId, reason: "on_demand" });
    expect(retry).toMatchObject({ result: "failed", failureClass: "needs_reconsent", errorCode: "invalid_grant" });
    expect(await readConnection(t.db, rotating.connectionId)).toMatchObject({
      status: "needs_reconsent",
      lastErrorCode: "invalid_grant",
      nextRefreshAt: null,
    });

    op.setRotateRefreshToken(false);
    const plain = await connect(t);
    op.failNext(faults.lostResponse());
    expect(await refreshConnection({ db: t.db, connectionId: plain.connectionId, reason: "on_demand" })).toMatchObject({
      result: "failed",
      failureClass: "retryable",
    });
    expect(await refreshConnection({ db: t.db, connectionId: plain.connectionId, reason: "on_demand" })).toEqual({
      result: "refreshed",
    });
    expect(await readConnection(t.db, plain.connectionId)).toMatchObject({
      status: "active",
      refreshAttempts: 0,
      lastErrorCode: null,
    });
  });
});
