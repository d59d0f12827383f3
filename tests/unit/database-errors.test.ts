// Which errors mean "the database cannot be used right now" (503 + Retry-After, hold and retry a
// commit) and which are ordinary failures. The shapes are the ones Prisma 6.19 with its driver
// adapters, pg and better-sqlite3 actually throw (seen against a stopped server, an exhausted pool
// and a locked file in tests/integration/fault-*.test.ts).
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "@/lib/db/database-errors";

const prismaKnown = (code: string, message: string, meta?: unknown) =>
  Object.assign(new Error(message), { name: "PrismaClientKnownRequestError", code, meta });

describe("isDatabaseUnavailable", () => {
  it.each([
    ["P1001, the server cannot be reached", prismaKnown("P1001", "Can't reach database server at 127.0.0.1:5432")],
    [
      "P2028, no transaction within maxWait (an exhausted pool)",
      prismaKnown("P2028", "Transaction API error: Unable to start a transaction in the given time."),
    ],
    [
      "P2010 of a raw query whose adapter could not reach the server",
      prismaKnown("P2010", "Raw query failed.", {
        driverAdapterError: {
          name: "DriverAdapterError",
          cause: { kind: "DatabaseNotReachable", host: "127.0.0.1", port: 5432 },
        },
      }),
    ],
    [
      "a raw query on a SQLite file another process holds (SQLITE_BUSY)",
      prismaKnown("P2010", "Raw query failed.", {
        driverAdapterError: { cause: { kind: "SocketTimeout", originalCode: "SQLITE_BUSY" } },
      }),
    ],
    [
      "SQLITE_BUSY_SNAPSHOT from the adapter",
      prismaKnown("P2010", "x", {
        driverAdapterError: { cause: { kind: "sqlite", extendedCode: 517, originalCode: "SQLITE_BUSY_SNAPSHOT" } },
      }),
    ],
    ["pg: a pooled connection dropped by the server", new Error("Connection terminated unexpectedly")],
    ["pg: the pool's connect timeout", new Error("timeout exceeded when trying to connect")],
    [
      "pg: the server shutting down (57P01)",
      Object.assign(new Error("terminating connection due to administrator command"), {
        code: "57P01",
        severity: "FATAL",
      }),
    ],
    [
      "pg: the server starting up (57P03)",
      Object.assign(new Error("the database system is starting up"), { code: "57P03" }),
    ],
    [
      "pg: too many connections (53300)",
      Object.assign(new Error("sorry, too many clients already"), { code: "53300" }),
    ],
    [
      "a socket refused",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), {
        code: "ECONNREFUSED",
        syscall: "connect",
        errno: -111,
      }),
    ],
    ["better-sqlite3: disk full", Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" })],
    [
      "the cause of a wrapper",
      new Error("refresh failed", { cause: Object.assign(new Error("x"), { code: "ECONNRESET" }) }),
    ],
  ])("%s: unavailable", (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ["a unique constraint (P2002)", prismaKnown("P2002", "Unique constraint failed on the fields: (`slug`)")],
    [
      "a record not found (P2025)",
      prismaKnown(
        "P2025",
        "An operation failed because it depends on one or more records that were required but not found.",
      ),
    ],
    [
      "a raw query with bad SQL",
      prismaKnown("P2010", "Raw query failed.", {
        driverAdapterError: { cause: { kind: "postgres", code: "42601", message: "syntax error" } },
      }),
    ],
    [
      "a decryption failure",
      Object.assign(new Error("encrypted value failed authentication"), { name: "DecryptionError" }),
    ],
    ["a plain TypeError", new TypeError("Cannot read properties of undefined")],
    ["not an error at all", "nope"],
    ["null", null],
  ])("%s: not unavailable", (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it("a cause chain that loops ends", () => {
    const a: Error & { cause?: unknown } = new Error("a");
    const b: Error & { cause?: unknown } = new Error("b", { cause: a });
    a.cause = b;
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});
