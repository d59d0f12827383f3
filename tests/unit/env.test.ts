import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadEnv, publicUrlPortMismatch } from "@/lib/env";

const PG = "postgresql://consentry:pw@db.internal:5432/consentry";
const OIDC = {
  OIDC_ISSUER: "https://login.example.test/tenant/v2.0",
  OIDC_CLIENT_ID: "client",
  OIDC_CLIENT_SECRET: "oidc-secret-value",
};

function errorOf(source: Record<string, string>): string {
  try {
    loadEnv(source);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("loadEnv accepted an invalid configuration");
}

describe("loadEnv", () => {
  it("defaults to an embedded SQLite file in the data folder", () => {
    const e = loadEnv({ CONSENTRY_DATA_DIR: "/srv/consentry" });
    expect(e).toMatchObject({
      dbKind: "sqlite",
      embedded: true,
      dataDir: "/srv/consentry",
      databaseUrl: `file:${path.join("/srv/consentry", "consentry.db")}`,
      localLogin: true,
      demoData: true,
      oidc: null,
      port: 3000,
      publicUrl: "http://localhost:3000",
      logLevel: "info",
    });
  });

  it("builds the public URL from PORT unless CONSENTRY_URL names one (trailing slashes dropped)", () => {
    expect(loadEnv({ PORT: "8080" })).toMatchObject({ port: 8080, publicUrl: "http://localhost:8080" });
    expect(loadEnv({ PORT: "8080", CONSENTRY_URL: "https://consentry.example.com/" }).publicUrl).toBe(
      "https://consentry.example.com",
    );
  });

  it("resolves a relative data folder against the working directory", () => {
    expect(loadEnv({}).dataDir).toBe(path.resolve("data"));
    expect(loadEnv({}).databaseUrl).toBe(`file:${path.resolve("data", "consentry.db")}`);
  });

  it.each([PG, "postgres://u@h/db"])("selects PostgreSQL for %s", (url) => {
    const e = loadEnv({ DATABASE_URL: url });
    expect(e).toMatchObject({
      dbKind: "postgresql",
      embedded: false,
      databaseUrl: url,
      localLogin: false,
      demoData: false,
    });
  });

  it("keeps an explicit file: URL on SQLite", () => {
    expect(loadEnv({ DATABASE_URL: "file:/var/lib/c.db" })).toMatchObject({
      dbKind: "sqlite",
      databaseUrl: "file:/var/lib/c.db",
    });
  });

  describe("localLogin", () => {
    it("is on by default only for embedded without OpenID Connect", () => {
      expect(loadEnv({}).localLogin).toBe(true);
      expect(loadEnv({ ...OIDC }).localLogin).toBe(false);
      expect(loadEnv({ DATABASE_URL: PG }).localLogin).toBe(false);
    });

    it("follows an explicit setting either way", () => {
      expect(loadEnv({ DATABASE_URL: PG, CONSENTRY_LOCAL_LOGIN: "true" }).localLogin).toBe(true);
      expect(loadEnv({ CONSENTRY_LOCAL_LOGIN: "0" }).localLogin).toBe(false);
      expect(loadEnv({ ...OIDC, CONSENTRY_LOCAL_LOGIN: "yes" }).localLogin).toBe(true);
      // empty means "not set"
      expect(loadEnv({ CONSENTRY_LOCAL_LOGIN: "" }).localLogin).toBe(true);
    });
  });

  it("builds the OIDC settings only when issuer, client id and secret are all present", () => {
    expect(loadEnv({ ...OIDC }).oidc).toEqual({
      issuer: OIDC.OIDC_ISSUER,
      clientId: "client",
      clientSecret: "oidc-secret-value",
      displayName: "Microsoft Entra ID",
    });
    expect(errorOf({ OIDC_ISSUER: OIDC.OIDC_ISSUER })).toMatch(
      /OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are required/,
    );
  });

  it("limits failed API authentications to 30 per address in 5 minutes, audited every minute, unless configured", () => {
    expect(loadEnv({})).toMatchObject({
      apiAuthFailuresPerIp: 30,
      apiAuthFailureWindowSeconds: 300,
      apiAuthFailureAuditSeconds: 60,
    });
    const e = loadEnv({
      CONSENTRY_API_AUTH_FAILURES_PER_IP: "5",
      CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS: "60",
      CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS: "300",
    });
    expect(e).toMatchObject({
      apiAuthFailuresPerIp: 5,
      apiAuthFailureWindowSeconds: 60,
      apiAuthFailureAuditSeconds: 300,
    });
  });

  it("runs the refresh scheduler every 60 s in every mode (PostgreSQL included) unless set; 0 turns it off", () => {
    expect(loadEnv({}).refreshIntervalSeconds).toBe(60);
    expect(loadEnv({ DATABASE_URL: PG }).refreshIntervalSeconds).toBe(60);
    expect(loadEnv({ DATABASE_URL: PG, CONSENTRY_REFRESH_INTERVAL_SECONDS: "0" }).refreshIntervalSeconds).toBe(0);
    expect(loadEnv({ CONSENTRY_REFRESH_INTERVAL_SECONDS: "15" }).refreshIntervalSeconds).toBe(15);
  });

  it("calls background work overdue after 600 s unless configured", () => {
    expect(loadEnv({}).healthOverdueSeconds).toBe(600);
    expect(loadEnv({ CONSENTRY_HEALTH_OVERDUE_SECONDS: "120" }).healthOverdueSeconds).toBe(120);
    expect(errorOf({ CONSENTRY_HEALTH_OVERDUE_SECONDS: "0" })).toMatch(/CONSENTRY_HEALTH_OVERDUE_SECONDS: /);
  });

  it("keeps metrics off unless a bearer secret or a port is set; the port listens on loopback by default", () => {
    expect(loadEnv({}).metrics).toEqual({ token: undefined, port: undefined, host: "127.0.0.1", enabled: false });
    const token = "m".repeat(32);
    expect(loadEnv({ CONSENTRY_METRICS_TOKEN: token }).metrics).toMatchObject({ token, enabled: true });
    expect(loadEnv({ CONSENTRY_METRICS_PORT: "9464" }).metrics).toMatchObject({ port: 9464, enabled: true });
    expect(loadEnv({ CONSENTRY_METRICS_PORT: "9464", CONSENTRY_METRICS_HOST: "0.0.0.0" }).metrics.host).toBe("0.0.0.0");
    const message = errorOf({ CONSENTRY_METRICS_TOKEN: "short-metrics-canary" });
    expect(message).toMatch(/CONSENTRY_METRICS_TOKEN: CONSENTRY_METRICS_TOKEN must be at least 32 characters/);
    expect(message).not.toContain("short-metrics-canary");
  });

  it("shares nothing through Redis and trusts no proxy unless configured; invalid proxy ranges fail at start", () => {
    expect(loadEnv({})).toMatchObject({ redisUrl: null, redisPrefix: "consentry:", trustedProxies: [] });
    const e = loadEnv({
      CONSENTRY_REDIS_URL: "redis://:pw@cache.internal:6379/2",
      CONSENTRY_REDIS_PREFIX: "eu1:",
      CONSENTRY_TRUSTED_PROXIES: "10.0.0.0/8, 2001:db8::/32",
    });
    expect(e).toMatchObject({ redisUrl: "redis://:pw@cache.internal:6379/2", redisPrefix: "eu1:" });
    expect(e.trustedProxies.map(([a, bits]) => `${a.toString()}/${bits}`)).toEqual(["10.0.0.0/8", "2001:db8::/32"]);
    expect(errorOf({ CONSENTRY_TRUSTED_PROXIES: "10.0.0.0/8, lb.internal, 10.0.0.0/40" })).toMatch(
      /CONSENTRY_TRUSTED_PROXIES: not an address range: "lb.internal", "10.0.0.0\/40" \(comma-separated CIDRs/,
    );
    const message = errorOf({ CONSENTRY_REDIS_URL: "http://:redis-canary@cache.internal" });
    expect(message).toMatch(/CONSENTRY_REDIS_URL: CONSENTRY_REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(message).not.toContain("redis-canary");
  });

  it("normalises staff e-mails and the public URL", () => {
    const e = loadEnv({
      CONSENTRY_STAFF_EMAILS: " Ops@Example.test, b@example.test ,,",
      CONSENTRY_URL: "https://portal.example.test//",
    });
    expect(e.staffEmails).toEqual(["ops@example.test", "b@example.test"]);
    expect(e.publicUrl).toBe("https://portal.example.test");
  });

  it.each([
    ["PORT", { PORT: "abc" }, /^Invalid configuration:\n {2}PORT: /],
    ["PORT out of range", { PORT: "70000" }, /PORT: /],
    [
      "DATABASE_URL",
      { DATABASE_URL: "mysql://u@h/db" },
      /DATABASE_URL: DATABASE_URL must start with postgresql:\/\/ or file:/,
    ],
    ["AUTH_SECRET", { AUTH_SECRET: "too-short" }, /AUTH_SECRET: AUTH_SECRET must be at least 32 characters/],
    ["CONSENTRY_LOCAL_LOGIN", { CONSENTRY_LOCAL_LOGIN: "maybe" }, /CONSENTRY_LOCAL_LOGIN: /],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }, /LOG_LEVEL: /],
    ["CONSENTRY_URL", { CONSENTRY_URL: "not a url" }, /CONSENTRY_URL: /],
    [
      "CONSENTRY_API_AUTH_FAILURES_PER_IP",
      { CONSENTRY_API_AUTH_FAILURES_PER_IP: "0" },
      /CONSENTRY_API_AUTH_FAILURES_PER_IP: /,
    ],
    [
      "CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS",
      { CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS: "1.5" },
      /CONSENTRY_API_AUTH_FAILURE_WINDOW_SECONDS: /,
    ],
    [
      "CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS",
      { CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS: "never" },
      /CONSENTRY_API_AUTH_FAILURE_AUDIT_SECONDS: /,
    ],
  ])("names the variable when %s is invalid", (_label, source, message) => {
    expect(errorOf(source)).toMatch(message);
  });

  it("lists every invalid variable at once", () => {
    const message = errorOf({ PORT: "abc", LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" });
    expect(message.split("\n").slice(1)).toHaveLength(3);
  });

  it("does not echo secret values in its errors", () => {
    expect(errorOf({ AUTH_SECRET: "hunter2-secret" })).not.toContain("hunter2-secret");
    expect(errorOf({ DATABASE_URL: "mysql://root:db-password-canary@h/db" })).not.toContain("db-password-canary");
  });
});

describe("publicUrlPortMismatch", () => {
  it("names a loopback CONSENTRY_URL whose port is not the listening one, and nothing else", () => {
    expect(publicUrlPortMismatch("http://localhost:3000", 3100)).toMatch(
      /CONSENTRY_URL is http:\/\/localhost:3000 but the server listens on port 3100/,
    );
    expect(publicUrlPortMismatch("http://127.0.0.1", 3000)).toMatch(/point at port 80\b/);
    expect(publicUrlPortMismatch("http://[::1]:8080", 3000)).toMatch(/port 8080/);
    // agreeing, or a public address (behind a proxy its port is the proxy's business)
    expect(publicUrlPortMismatch("http://localhost:3100", 3100)).toBeNull();
    expect(publicUrlPortMismatch("https://localhost", 443)).toBeNull();
    expect(publicUrlPortMismatch("https://consentry.example.com", 3000)).toBeNull();
    expect(publicUrlPortMismatch("not a url", 3000)).toBeNull();
  });
});
