// The audit log as people read it, on SQLite and PostgreSQL: filters that ignore case and spaces
// (action codes, human names, actors, targets by name or id, dates), keyset paging without
// duplicates or gaps in both directions, target links that know what is gone, and the actors of a
// signed-in user's "Connect now" and "Refresh now" (the user, not an anonymous tenant admin or the system).
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import en from "@/lib/i18n/messages/en.json";
import ja from "@/lib/i18n/messages/ja.json";
import type { Db } from "@/lib/db/client";
import { auditRow, type AuditInput } from "@/lib/audit/record-audit-event";
import { ACTOR_LABEL_KEYS, AUDIT_ACTIONS } from "@/lib/audit/audit-actions";
import { listAuditEvents, type TAuditNames, type TAuditQuery } from "@/lib/audit/list-audit-events";
import { auditTargetOf, resolveAuditTargets } from "@/lib/audit/resolve-audit-targets";
import { listConnectionActivity } from "@/lib/audit/list-connection-activity";
import { createConnection } from "@/lib/connections/create-connection";
import { createDirectConsent } from "@/lib/consent/create-direct-consent";
import { startConsent } from "@/lib/consent/start-consent";
import { completeConsent } from "@/lib/consent/complete-consent";
import { refreshConnection } from "@/lib/tokens/refresh-connection";
import { describeEachDb } from "../helpers/db";
import { seedConnection, seedOrg, seedUser, uniq } from "../helpers/factories";
import { callbackFor, expectLoopbackAllowance } from "../helpers/consent";
import { connectViaConsent } from "../helpers/lifecycle";
import { followAuthorize } from "../fixtures/http-emulator";
import { createGenericAs, type GenericAs } from "../fixtures/generic-as";

vi.hoisted(() => {
  process.env.CONSENTRY_TEST_ALLOW_LOOPBACK_EGRESS = "true";
});

const PROVIDER = "generic-oauth2";
let as: GenericAs;
beforeAll(async () => {
  expectLoopbackAllowance(true);
  as = await createGenericAs({ redirectUris: [callbackFor(PROVIDER)] });
});
afterAll(async () => as?.close());

const lookup = (messages: unknown, key: string) =>
  key.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], messages) as
    string | undefined;

/** The names a page in `messages`' language hands to the listing (app/_components/audit-table auditNames). */
function namesIn(messages: unknown): TAuditNames {
  const pick = (keys: string[], ns: string, key = (k: string) => k) =>
    Object.fromEntries(
      keys.flatMap((k) =>
        lookup(messages, `audit.${ns}.${key(k)}`) ? [[k, lookup(messages, `audit.${ns}.${key(k)}`)!]] : [],
      ),
    );
  return {
    actions: pick([...AUDIT_ACTIONS], "actions"),
    actorTypes: pick(["user", "api_key", "system", "anonymous"], "actorType"),
    actorLabels: pick(Object.keys(ACTOR_LABEL_KEYS), "actorLabel", (k) => ACTOR_LABEL_KEYS[k]!),
    targetTypes: pick(["connection", "webhook", "api_key", "oauth_app"], "targetType"),
  };
}

async function seedEvent(db: Db, input: AuditInput, createdAt: Date) {
  return db.auditEvent.create({ data: { ...auditRow(input), createdAt } });
}

describeEachDb("audit log listing", (getDb) => {
  const T0 = Date.parse("2026-04-10T12:00:00Z");
  let org: { id: string };
  let other: { id: string };
  let payroll: { id: string; name: string };
  let hook: { id: string };
  const ids: Record<string, string> = {};

  const list = (query: Partial<TAuditQuery>, names?: TAuditNames) =>
    listAuditEvents({ db: getDb().db, organizationId: org.id, query: { limit: 200, ...query }, names });
  const actions = async (query: Partial<TAuditQuery>, names?: TAuditNames) =>
    (await list(query, names)).events.map((e) => e.action).sort();

  beforeAll(async () => {
    const { db } = getDb();
    org = await seedOrg(db);
    other = await seedOrg(db);
    payroll = await seedConnection(db, { organizationId: org.id, name: "Payroll Sync" });
    const otherConn = await seedConnection(db, { organizationId: other.id, name: "Payroll Sync" });
    hook = await db.webhookEndpoint.create({
      data: {
        organizationId: org.id,
        url: "https://hooks.example.test/in",
        secretEnc: "x",
        events: "connection.revoked",
      },
    });
    const user = { type: "user", id: "u-1", label: "Alice.Admin@Example.TEST" } as const;
    const at = (h: number) => new Date(T0 + h * 3600_000);
    const rows: Array<[string, AuditInput, Date]> = [
      [
        "created",
        {
          organizationId: org.id,
          actor: user,
          action: "connection.created",
          outcome: "success",
          target: { type: "connection", id: payroll.id },
        },
        at(-50),
      ],
      [
        "refreshed",
        {
          organizationId: org.id,
          actor: { type: "system", label: "refresh" },
          action: "connection.refreshed",
          outcome: "success",
          target: { type: "connection", id: payroll.id },
        },
        at(-26),
      ],
      [
        "failed",
        {
          organizationId: org.id,
          actor: { type: "system", label: "refresh" },
          action: "connection.refresh_failed",
          outcome: "failure",
          target: { type: "connection", id: payroll.id },
          details: { failureClass: "retryable" },
        },
        at(-25),
      ],
      [
        "token",
        {
          organizationId: org.id,
          actor: { type: "api_key", id: "k-1", label: "csk_AbCdEf" },
          action: "api.getToken",
          outcome: "success",
          target: { type: "connection", id: payroll.id },
        },
        at(-3),
      ],
      [
        "consent",
        {
          organizationId: org.id,
          actor: { type: "anonymous", label: "tenant admin" },
          action: "consent.completed",
          outcome: "success",
          target: { type: "connection", id: payroll.id },
        },
        at(-2),
      ],
      [
        "webhook",
        {
          organizationId: org.id,
          actor: user,
          action: "webhook.created",
          outcome: "success",
          target: { type: "webhook", id: hook.id },
        },
        at(-1),
      ],
      [
        "member",
        {
          organizationId: org.id,
          actor: user,
          action: "member.added",
          outcome: "success",
          details: { email: "bob@example.test" },
        },
        at(0),
      ],
      [
        "elsewhere",
        {
          organizationId: other.id,
          actor: user,
          action: "connection.refreshed",
          outcome: "success",
          target: { type: "connection", id: otherConn.id },
        },
        at(-1),
      ],
    ];
    for (const [name, input, when] of rows) ids[name] = (await seedEvent(db, input, when)).id;
  });

  it("finds an action by its code in any case, with spaces, by a prefix, and by its name in either language", async () => {
    expect(await actions({ action: "  CONNECTION.Refreshed " })).toEqual(["connection.refreshed"]);
    expect(await actions({ action: "connection refreshed" })).toEqual(["connection.refreshed"]);
    // the REST API's codes are camel case: still found in lower case
    expect(await actions({ action: "api.gettoken" })).toEqual(["api.getToken"]);
    expect(await actions({ action: "Connection." })).toEqual([
      "connection.created",
      "connection.refresh_failed",
      "connection.refreshed",
    ]);
    expect(await actions({ action: " token REFRESHED " }, namesIn(en))).toEqual(["connection.refreshed"]);
    expect(await actions({ action: "トークンの更新に失敗" }, namesIn(ja))).toEqual(["connection.refresh_failed"]);
    expect(await actions({ action: "no.such.thing" })).toEqual([]);
  });

  it("finds an actor by label in any case, by type and by a system actor's name", async () => {
    expect(await actions({ actor: " alice.admin@example.test " })).toEqual([
      "connection.created",
      "member.added",
      "webhook.created",
    ]);
    expect(await actions({ actor: "ALICE" })).toHaveLength(3);
    expect(await actions({ actor: "CSK_abcdef" })).toEqual(["api.getToken"]);
    expect(await actions({ actor: "System" })).toEqual(["connection.refresh_failed", "connection.refreshed"]);
    expect(await actions({ actor: "Tenant ADMIN" })).toEqual(["consent.completed"]);
    expect(await actions({ actor: "テナント管理者" }, namesIn(ja))).toEqual(["consent.completed"]);
    expect(await actions({ actor: "token refresh" }, namesIn(en))).toEqual([
      "connection.refresh_failed",
      "connection.refreshed",
    ]);
  });

  it("finds a target by name in any case, by its id in any case or by its start, and by type", async () => {
    const onPayroll = [
      "api.getToken",
      "connection.created",
      "connection.refresh_failed",
      "connection.refreshed",
      "consent.completed",
    ];
    expect(await actions({ target: "  PAYROLL sync " })).toEqual(onPayroll);
    expect(await actions({ target: ` ${payroll.id.toUpperCase()} ` })).toEqual(onPayroll);
    expect(await actions({ target: payroll.id.slice(0, -3) })).toEqual(onPayroll);
    expect(await actions({ target: "Hooks.Example" })).toEqual(["webhook.created"]);
    expect(await actions({ target: "webhook" })).toEqual(["webhook.created"]);
    // another organization's connection of the same name is not this one's target
    expect((await list({ target: "payroll" })).events.map((e) => e.id)).not.toContain(ids.elsewhere);
  });

  it("filters by days (UTC, both ends included) and combines filters", async () => {
    // T0 is 2026-04-10 12:00; -26 h and -25 h fall on 04-09, -50 h on 04-08
    expect(await actions({ from: "2026-04-09", to: "2026-04-09" })).toEqual([
      "connection.refresh_failed",
      "connection.refreshed",
    ]);
    expect(await actions({ to: "2026-04-08" })).toEqual(["connection.created"]);
    expect(await actions({ from: "2026-04-10", actor: "alice" })).toEqual(["member.added", "webhook.created"]);
    expect(await actions({ from: "2026-04-10", action: "connection" })).toEqual([]);
  });

  it("resolves targets: names and links while they exist, only the id once gone, nothing of other organizations", async () => {
    const { db } = getDb();
    const gone = crypto.randomUUID();
    const request = await db.consentRequest.create({
      data: { organizationId: org.id, connectionId: payroll.id, providerId: "microsoft", expiresAt: new Date(T0) },
    });
    const foreign = await seedConnection(db, { organizationId: other.id, name: "Theirs" });
    const events = [
      { targetType: "connection", targetId: payroll.id },
      { targetType: "connection", targetId: gone },
      { targetType: "webhook", targetId: hook.id },
      { targetType: "consent_request", targetId: request.id },
      { targetType: "connection", targetId: foreign.id },
      { targetType: null, targetId: null },
    ];
    const targets = await resolveAuditTargets({ db, organizationId: org.id, events });
    expect(auditTargetOf(targets, events[0]!)).toEqual({
      type: "connection",
      id: payroll.id,
      name: "Payroll Sync",
      exists: true,
    });
    expect(auditTargetOf(targets, events[1]!)).toEqual({ type: "connection", id: gone, name: null, exists: false });
    expect(auditTargetOf(targets, events[2]!)).toMatchObject({ name: "https://hooks.example.test/in", exists: true });
    expect(auditTargetOf(targets, events[3]!)).toMatchObject({ exists: true, connectionId: payroll.id });
    expect(auditTargetOf(targets, events[4]!)).toEqual({
      type: "connection",
      id: foreign.id,
      name: null,
      exists: false,
    });
    expect(auditTargetOf(targets, events[5]!)).toBeNull();
  });

  it("a connection's timeline: its own events, newest first, without the API's call records", async () => {
    const rows = await listConnectionActivity({ db: getDb().db, organizationId: org.id, connectionId: payroll.id });
    expect(rows.map((r) => r.action)).toEqual([
      "consent.completed",
      "connection.refresh_failed",
      "connection.refreshed",
      "connection.created",
    ]);
  });
});

describeEachDb("audit log paging", (getDb) => {
  it("pages older and back newer without duplicates or gaps, also with rows sharing a timestamp and rows arriving meanwhile", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const base = Date.parse("2026-05-01T00:00:00Z");
    for (let i = 0; i < 23; i++) {
      // groups of three share a millisecond: the id breaks the tie
      await seedEvent(
        db,
        {
          organizationId: org.id,
          actor: { type: "system" },
          action: i % 2 ? "connection.tested" : "connection.refreshed",
          outcome: "success",
        },
        new Date(base + Math.floor(i / 3) * 1000),
      );
    }
    const all = (
      await db.auditEvent.findMany({
        where: { organizationId: org.id },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      })
    ).map((e) => e.id);
    const page = (query: Partial<TAuditQuery>) =>
      listAuditEvents({ db, organizationId: org.id, query: { limit: 5, ...query } });

    const pages: Array<Awaited<ReturnType<typeof page>>> = [await page({})];
    expect(pages[0]!.prevCursor).toBeNull();
    while (pages.at(-1)!.nextCursor) {
      if (pages.length === 2)
        // a new event arrives while the reader pages: it does not shift the older pages
        await seedEvent(
          db,
          { organizationId: org.id, actor: { type: "system" }, action: "connection.tested", outcome: "success" },
          new Date(base + 3600_000),
        );
      pages.push(await page({ cursor: pages.at(-1)!.nextCursor! }));
    }
    expect(pages.map((p) => p.events.length)).toEqual([5, 5, 5, 5, 3]);
    expect(pages.flatMap((p) => p.events.map((e) => e.id))).toEqual(all);
    expect(pages.slice(1).every((p) => p.prevCursor)).toBe(true);

    // and back: each "newer" page is the one before it
    let back = pages.at(-1)!;
    for (let i = pages.length - 2; i >= 0; i--) {
      back = await page({ before: back.prevCursor! });
      expect(back.events.map((e) => e.id)).toEqual(pages[i]!.events.map((e) => e.id));
      expect(back.nextCursor).not.toBeNull();
    }
    // the first page knows now of the event that arrived
    expect(back.prevCursor).not.toBeNull();
    expect((await page({ before: back.prevCursor! })).events).toHaveLength(1);

    // paging a filtered list
    const filtered: string[] = [];
    let cursor: string | undefined;
    do {
      const p = await page({ action: " Connection.TESTED ", limit: 4, ...(cursor ? { cursor } : {}) });
      filtered.push(...p.events.map((e) => e.id));
      cursor = p.nextCursor ?? undefined;
    } while (cursor);
    const expected = (
      await db.auditEvent.findMany({
        where: { organizationId: org.id, action: "connection.tested" },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      })
    ).map((e) => e.id);
    expect(filtered).toEqual(expected);
    expect(new Set(filtered).size).toBe(filtered.length);
    expect(all).toHaveLength(23);

    // a cursor that names no row or does not parse: the newest page, as if none was given
    expect((await page({ cursor: "garbage" })).events.map((e) => e.id)).toEqual(
      (await page({})).events.map((e) => e.id),
    );
  });
});

describeEachDb("audit actors of a signed-in user's own actions", (getDb) => {
  it("Connect now is the user's consent; a consent link's stays the anonymous tenant admin's; Refresh now is the user's", async () => {
    const { db } = getDb();
    const org = await seedOrg(db);
    const user = await seedUser(db, { email: `carol-${uniq()}@example.test` });
    const c = await createConnection({
      db,
      organizationId: org.id,
      actor: { type: "user", id: user.id, label: user.email },
      input: {
        provider: PROVIDER,
        name: "Mine",
        settings: { authorization_url: as.authorizationUrl, token_url: as.tokenUrl },
        scopes: ["api:read"],
        oauth_app: as.client,
      },
    });
    // what connectNowAction does
    const request = await createDirectConsent({ db, organizationId: org.id, connectionId: c.id, userId: user.id });
    const browserSecret = crypto.randomBytes(16).toString("hex");
    const { authorizationUrl } = await startConsent({
      db,
      consentRequestId: request.id,
      organizationId: org.id,
      browserSecret,
      returnTo: `/orgs/x/connections/${c.id}`,
      actor: { type: "user", id: user.id, label: user.email },
    });
    const callback = await followAuthorize(authorizationUrl, { origins: [as.url] });
    const outcome = await completeConsent({ db, providerId: PROVIDER, params: callback.searchParams, browserSecret });
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
    const completed = await db.auditEvent.findFirstOrThrow({
      where: { organizationId: org.id, action: "consent.completed" },
    });
    expect(completed).toMatchObject({ actorType: "user", actorId: user.id, actorLabel: user.email });

    // what refreshNowAction does
    expect(
      await refreshConnection({
        db,
        connectionId: c.id,
        reason: "manual",
        actor: { type: "user", id: user.id, label: user.email },
      }),
    ).toEqual({ result: "refreshed" });
    const manual = await db.auditEvent.findFirstOrThrow({
      where: { organizationId: org.id, action: "connection.refreshed" },
    });
    expect(manual).toMatchObject({ actorType: "user", actorId: user.id, actorLabel: user.email });
    expect(JSON.parse(manual.details)).toMatchObject({ reason: "manual" });

    // the engine's own refreshes and a consent link's consent keep their actors
    const other = await connectViaConsent({
      db,
      organizationId: org.id,
      provider: PROVIDER,
      settings: { authorization_url: as.authorizationUrl, token_url: as.tokenUrl },
      scopes: ["api:read"],
      app: as.client,
      authorize: (url) => followAuthorize(url, { origins: [as.url] }),
    });
    expect(await refreshConnection({ db, connectionId: other.connectionId, reason: "on_demand" })).toEqual({
      result: "refreshed",
    });
    const rows = await db.auditEvent.findMany({
      where: {
        organizationId: org.id,
        targetId: other.connectionId,
        action: { in: ["consent.completed", "connection.refreshed"] },
      },
    });
    expect(rows.map((r) => [r.action, r.actorType, r.actorLabel]).sort()).toEqual([
      ["connection.refreshed", "system", "refresh"],
      ["consent.completed", "anonymous", "tenant admin"],
    ]);
  });
});

describe("audit vocabulary names", () => {
  it("every action has an English and a Japanese name (the filters match them)", () => {
    expect(Object.keys(namesIn(en).actions!)).toHaveLength(AUDIT_ACTIONS.length);
    expect(Object.keys(namesIn(ja).actions!)).toHaveLength(AUDIT_ACTIONS.length);
  });
});
