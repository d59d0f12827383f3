// The audit vocabulary (lib/audit/audit-actions.ts) is what the code records: every action code
// written in lib/ and app/ and every REST route is listed and has a human name in en and ja, as do
// target types, actor types and the labels of actors without an account. Plus the pure parts of the
// listing: query parsing, text folding and target links.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import en from "@/lib/i18n/messages/en.json";
import ja from "@/lib/i18n/messages/ja.json";
import { API_ROUTES } from "@/lib/api/routes";
import {
  ACTOR_LABEL_KEYS,
  API_ROUTE_IDS,
  AUDIT_ACTIONS,
  AUDIT_ACTOR_TYPES,
  AUDIT_TARGET_TYPES,
  actorLabelKey,
} from "@/lib/audit/audit-actions";
import { ZAuditQuery, auditCursor, foldText } from "@/lib/audit/list-audit-events";
import { auditTargetHref } from "@/lib/audit/resolve-audit-targets";
import { REPO_ROOT } from "../helpers/paths";

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "generated" || e.name.startsWith(".") ? [] : sourceFiles(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Action codes in the source: `action: "x"`, and both arms of `action: cond ? "x" : "y"`. */
function recordedActions(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of [...sourceFiles(path.join(REPO_ROOT, "lib")), ...sourceFiles(path.join(REPO_ROOT, "app"))]) {
    const src = fs.readFileSync(file, "utf8");
    for (const m of src.matchAll(/\baction:\s*([^,}\n]*(?:\n\s*[?:][^,}\n]*)*)/g)) {
      for (const code of m[1]!.matchAll(/"([a-z_]+\.[a-z_]+)"/g)) found.set(code[1]!, path.relative(REPO_ROOT, file));
    }
  }
  return found;
}

const lookup = (messages: unknown, key: string) =>
  key
    .split(".")
    .reduce<unknown>(
      (o, k) => (o && typeof o === "object" && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined),
      messages,
    );

describe("audit vocabulary", () => {
  it("lists every action code lib/ and app/ record", () => {
    const recorded = recordedActions();
    expect(recorded.size).toBeGreaterThan(40);
    const missing = [...recorded].filter(([code]) => !AUDIT_ACTIONS.includes(code));
    expect(missing, "add these to AUDIT_ACTIONS and to audit.actions in en.json and ja.json").toEqual([]);
  });

  it("lists every REST route (audited as api.<route id>)", () => {
    const missing = API_ROUTES.map((r) => r.id).filter((id) => !(API_ROUTE_IDS as readonly string[]).includes(id));
    expect(missing).toEqual([]);
  });

  it("names every action, target type, actor type and system actor in en and ja", () => {
    for (const [locale, messages] of Object.entries({ en, ja })) {
      const keys = [
        ...AUDIT_ACTIONS.map((c) => `audit.actions.${c}`),
        ...AUDIT_TARGET_TYPES.map((c) => `audit.targetType.${c}`),
        ...AUDIT_ACTOR_TYPES.map((c) => `audit.actorType.${c}`),
        ...Object.values(ACTOR_LABEL_KEYS).map((c) => `audit.actorLabel.${c}`),
      ];
      const missing = keys.filter((k) => typeof lookup(messages, k) !== "string");
      expect(missing, locale).toEqual([]);
    }
  });

  it("translates the labels of system and anonymous actors only", () => {
    expect(actorLabelKey("system", "refresh")).toBe("refresh");
    expect(actorLabelKey("anonymous", "tenant admin")).toBe("tenantAdmin");
    expect(actorLabelKey("anonymous", "connect session 0b1c")).toBe("connectSession");
    expect(actorLabelKey("user", "refresh")).toBeNull();
    expect(actorLabelKey("system", null)).toBeNull();
  });
});

describe("audit query", () => {
  it("trims filters, drops empty ones and ignores what does not parse instead of failing", () => {
    const q = ZAuditQuery.parse({
      action: "  Connection.Refreshed ",
      actor: "",
      target: "   ",
      from: "2026-13-45",
      to: " 2026-05-01 ",
      limit: "x",
    });
    expect(q).toMatchObject({ action: "Connection.Refreshed", to: "2026-05-01", limit: 50 });
    expect(q.actor).toBeUndefined();
    expect(q.target).toBeUndefined();
    expect(q.from).toBeUndefined();
    expect(ZAuditQuery.parse({ action: "x".repeat(101) }).action).toBeUndefined();
  });

  it("folds case and separators", () => {
    expect(foldText("  Connection Refreshed ")).toBe(foldText("connection.refreshed"));
    expect(foldText("API_KEY")).toBe("api key");
  });

  it("cursors carry the time and the id", () => {
    expect(auditCursor({ createdAt: new Date(1700000000123), id: "0190-ab" })).toBe("1700000000123_0190-ab");
  });
});

describe("audit target links", () => {
  const t = (type: string, exists = true, connectionId?: string) => ({
    type,
    id: "id-1",
    name: "n",
    exists,
    connectionId,
  });
  it("link to the page of what still exists", () => {
    expect(auditTargetHref("acme", t("connection"))).toBe("/orgs/acme/connections/id-1");
    expect(auditTargetHref("acme", t("oauth_app"))).toBe("/orgs/acme/apps/id-1");
    expect(auditTargetHref("acme", t("api_key"))).toBe("/orgs/acme/api-keys#api-key-id-1");
    expect(auditTargetHref("acme", t("webhook"))).toBe("/orgs/acme/webhooks#webhook-id-1");
    expect(auditTargetHref("acme", t("consent_request", true, "c-9"))).toBe("/orgs/acme/connections/c-9");
  });
  it("and to nothing once it is gone", () => {
    expect(auditTargetHref("acme", t("connection", false))).toBeNull();
    expect(auditTargetHref("acme", t("membership"))).toBeNull();
  });
});
