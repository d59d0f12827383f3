import { describe, expect, it } from "vitest";
import { apiAuditValues } from "@/lib/api/handle-api-request";
import { auditValues } from "@/lib/audit/record-audit-event";
import type { ApiPrincipal } from "@/lib/api-keys/authenticate-api-key";

// The REST API builds its audit rows directly; they must be exactly what the generic path
// (AuditInput → scrubDetails → auditValues) stores for the same call.
const principal: ApiPrincipal = {
  keyId: "key_1",
  organizationId: "org_1",
  scopes: new Set(["tokens:read"]),
  prefix: "csk_AbCd",
};

function generic(
  p: ApiPrincipal | null,
  routeId: string,
  method: string,
  pathname: string,
  status: number,
  ip: string | null,
) {
  const m = /^\/api\/v1\/connections\/([^/]+)/.exec(pathname);
  let id: string | null = null;
  try {
    id = m ? decodeURIComponent(m[1]!).slice(0, 200) : null;
  } catch {
    id = null;
  }
  return auditValues({
    organizationId: p?.organizationId ?? null,
    actor: p
      ? { type: "api_key", id: p.keyId, label: p.prefix, requestId: "req-1" }
      : { type: "anonymous", requestId: "req-1" },
    action: `api.${routeId}`,
    outcome: status < 400 ? "success" : status === 401 || status === 403 ? "denied" : "failure",
    ip,
    target: id ? { type: "connection", id } : undefined,
    details: { method, path: pathname, status },
  });
}

describe("apiAuditValues", () => {
  const cases: Array<[ApiPrincipal | null, string, string, string, number, string | null]> = [
    [principal, "connections.token", "POST", "/api/v1/connections/conn_1/token", 200, "127.0.0.1"],
    [principal, "connections.list", "GET", "/api/v1/connections", 200, "::1"],
    [null, "connections.token", "POST", "/api/v1/connections/conn_2/token", 401, null],
    [principal, "connections.delete", "DELETE", "/api/v1/connections/conn_3", 403, "10.0.0.1"],
    [principal, "connections.get", "GET", "/api/v1/connections/%E2%9C%93%20x", 404, "10.0.0.1"],
    [principal, "unknown", "GET", "/api/v1/connections/%ZZ/token", 404, "10.0.0.1"],
    [principal, "connections.get", "GET", `/api/v1/connections/${"a".repeat(700)}`, 404, "10.0.0.1"],
    [principal, "connections.token", "POST", "/api/v1/connections/conn_1/token", 502, "10.0.0.1"],
    [null, "unknown", "PUT", "/api/v1/nothing-here", 404, "10.0.0.1"],
  ];
  for (const [p, routeId, method, pathname, status, ip] of cases) {
    it(`${method} ${pathname.slice(0, 60)} → ${status}${p ? "" : " (no key)"}`, () => {
      expect(
        apiAuditValues(p, routeId, { method, ip, url: new URL(`http://internal${pathname}`) }, status, "req-1"),
      ).toEqual(generic(p, routeId, method, pathname, status, ip));
    });
  }

  it("truncates a long path in the details as scrubDetails does", () => {
    const values = apiAuditValues(
      principal,
      "connections.get",
      { method: "GET", ip: null, url: new URL(`http://internal/api/v1/connections/${"b".repeat(900)}`) },
      404,
      "r",
    );
    const details = JSON.parse(values[10]) as { path: string };
    expect(details.path.length).toBe(501);
    expect(details.path.endsWith("…")).toBe(true);
    expect(values[6]).toHaveLength(200); // the target id, cut at 200 characters
  });

  it("an API key a caller put in the path is not stored, neither in the details nor as the target", () => {
    const key = `csk_${"Ab1".repeat(14)}x`;
    const values = apiAuditValues(
      principal,
      "connections.get",
      { method: "GET", ip: null, url: new URL(`http://internal/api/v1/connections/${key}`) },
      404,
      "r",
    );
    expect(JSON.stringify(values)).not.toContain(key.slice(4, 20));
    // (slashes are base64 characters: the whole token-shaped run goes; the action still names the route)
    expect(JSON.parse(values[10])).toMatchObject({ path: "[redacted]" });
    expect(values[4]).toBe("api.connections.get");
  });
});
