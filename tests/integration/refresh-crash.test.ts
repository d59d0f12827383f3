// Refresh workers that die (SIGKILL) at the worst moments, against a real authorization server
// (oidc-provider): holding the lease, and after the AS answered but before the commit (SECURITY.md
// Refresh 17). Each worker is its own OS process (tests/workers/refresh-worker.ts).
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";

vi.hoisted(() => {
  // before lib/env is first read: lets egress reach the OP on 127.0.0.1
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

import { callbackUrl } from "@/lib/consent/start-consent";
import { AppError } from "@/lib/errors";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { refreshDue } from "@/lib/tokens/refresh-due";
import { getFreshToken } from "@/lib/tokens/get-fresh-token";
import { createOidcServer, type OidcServer } from "../fixtures/oidc-server";
import { describeEachDb, type TestDatabase } from "../helpers/db";
import {
  connectGenericViaOp,
  makeDue,
  readConnection,
  storedTokens,
  type WorkerHandle,
  waitFor,
  workerPool,
} from "../helpers/lifecycle";

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

describeEachDb("refresh worker crashes (oidc-provider)", (getDb) => {
  beforeAll(async () => {
    const t = getDb();
    // what bootstrap does for the embedded default: readers proceed while a writer commits
    if (t.kind === "sqlite") await t.db.$queryRawUnsafe("PRAGMA journal_mode=WAL");
    startPool(t, 3);
  });
  beforeEach(() => {
    op.clearFaults();
    op.setRotateRefreshToken(true);
  });

  it("a worker killed (SIGKILL) right after claiming the lease: the lease runs out and another worker refreshes", async () => {
    const t = getDb();
    const [dead, next] = boot(t, 2) as [WorkerHandle, WorkerHandle];
    const { organizationId, connectionId } = await connect(t);
    const before = await storedTokens(t.db, connectionId);
    op.resetRecording();

    dead.send({ mode: "claim-and-sleep", organizationId, connectionId, ttlMs: 3000 });
    next.send({ mode: "refresh", organizationId, connectionId }); // told to go once the lease has run out
    await dead.next("ready");
    dead.go();
    expect((await dead.next("claimed")).ok).toBe(true);
    dead.kill("SIGKILL");
    await dead.exited;
    expect(() => process.kill(dead.pid!, 0)).toThrow(); // the worker process is gone

    // the dead process still holds the lease: nobody may refresh yet
    const held = await readConnection(t.db, connectionId);
    expect(held.leaseOwner).toMatch(new RegExp(`^${dead.pid}-`));
    expect(held.leaseUntil!.getTime()).toBeGreaterThan(Date.now());
    expect(await refreshConnection({ db: t.db, connectionId, reason: "on_demand" })).toEqual({ result: "busy" });
    expect(op.counters.tokenCalls).toBe(0);

    // once it has run out, another worker process claims it and refreshes
    await waitFor(() => Date.now() > held.leaseUntil!.getTime() + 50, { what: "lease expiry" });
    await next.next("ready");
    next.go();
    expect((await next.next("result")).outcome).toEqual({ result: "refreshed" });
    release(next);
    expect(op.counters.refreshed).toBe(1);
    expect(op.events["grant.revoked"]).toBe(0);
    const after = await storedTokens(t.db, connectionId);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.connection).toMatchObject({ status: "active", leaseOwner: null, leaseUntil: null });
  });

  it("a worker killed after the rotating AS answered but before the commit: the next run gets invalid_grant → needs_reconsent, no hot loop", async () => {
    const t = getDb();
    const [dead] = boot(t, 1) as [WorkerHandle];
    const { organizationId, connectionId } = await connect(t);
    const before = await storedTokens(t.db, connectionId);
    op.resetRecording();

    // the OP rotates the refresh token, then the answer never reaches the worker, which dies
    op.failNext({ processFirst: true, hang: true });
    dead.send({ mode: "refresh", organizationId, connectionId });
    await dead.next("ready");
    dead.go();
    await dead.next("started");
    await waitFor(() => op.events["refresh_token.consumed"] === 1, { what: "the OP to rotate the refresh token" });
    dead.kill("SIGKILL");
    await dead.exited;

    // nothing was committed: the database still holds the refresh token the OP just consumed
    const orphaned = await storedTokens(t.db, connectionId);
    expect(orphaned.refreshToken).toBe(before.refreshToken);
    expect(orphaned.version).toBe(before.version);
    expect(orphaned.connection.leaseOwner).toMatch(new RegExp(`^${dead.pid}-`));
    // the dead worker's lease runs out (moved into the past instead of waiting LEASE_MS)
    await t.db.connection.update({ where: { id: connectionId }, data: { leaseUntil: new Date(Date.now() - 1000) } });
    await makeDue(t, connectionId);

    const first = await refreshDue({ db: t.db });
    expect(first).toMatchObject({ claimed: 1, refreshed: 0, failed: { needs_reconsent: 1 } });
    // the OP saw a rotated-out refresh token: reuse detection revoked the grant
    expect(op.events["grant.revoked"]).toBe(1);
    const c = await readConnection(t.db, connectionId);
    expect(c).toMatchObject({
      status: "needs_reconsent",
      lastErrorCode: "invalid_grant",
      nextRefreshAt: null,
      leaseOwner: null,
    });
    expect(c.lastErrorMessage).toContain("invalid_grant");

    // no hot loop: the scheduler does not call the AS again, and callers are told to re-consent
    const calls = op.counters.tokenCalls;
    const second = await refreshDue({ db: t.db });
    expect(second.due).toBe(0);
    expect(op.counters.tokenCalls).toBe(calls);
    const err = await getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 1 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: "needs-reconsent", extra: { reason: "invalid_grant" } });
    expect(op.counters.tokenCalls).toBe(calls);
  });

  it("the same crash against a non-rotating AS: the retry recovers with the same refresh token", async () => {
    const t = getDb();
    const [dead] = boot(t, 1) as [WorkerHandle];
    op.setRotateRefreshToken(false);
    const { organizationId, connectionId } = await connect(t);
    const before = await storedTokens(t.db, connectionId);
    op.resetRecording();

    op.failNext({ processFirst: true, hang: true });
    dead.send({ mode: "refresh", organizationId, connectionId });
    await dead.next("ready");
    dead.go();
    await dead.next("started");
    await waitFor(() => op.counters.refreshed === 1, { what: "the OP to answer the refresh" });
    dead.kill("SIGKILL");
    await dead.exited;
    await t.db.connection.update({ where: { id: connectionId }, data: { leaseUntil: new Date(Date.now() - 1000) } });
    await makeDue(t, connectionId);

    const s = await refreshDue({ db: t.db });
    expect(s).toMatchObject({ claimed: 1, refreshed: 1, failed: {} });
    expect(op.counters.refreshed).toBe(2);
    expect(op.events["grant.revoked"]).toBe(0);
    const after = await storedTokens(t.db, connectionId);
    expect(after.connection).toMatchObject({ status: "active", lastErrorCode: null, refreshAttempts: 0 });
    expect(after.refreshToken).toBe(before.refreshToken);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect((await getFreshToken({ db: t.db, organizationId, connectionId, minValidity: 1 })).accessToken).toBe(
      after.accessToken,
    );
  });
});
