import { describe, expect, it } from "vitest";
import { AppError, PROBLEM_BASE, fieldErrors, problemResponse, toProblem } from "@/lib/errors";

describe("toProblem", () => {
  it.each([
    ["an Error", new Error("connect ECONNREFUSED postgresql://app:hunter2@db:5432")],
    ["a TypeError", new TypeError("Cannot read properties of undefined (reading 'hunter2')")],
    ["a string", "hunter2"],
    ["an object", { message: "hunter2", status: 418 }],
    ["undefined", undefined],
  ])("never echoes %s", (_label, thrown) => {
    const p = toProblem(thrown, "/api/v1/connections");
    expect(p).toMatchObject({
      type: `${PROBLEM_BASE}/internal`,
      title: "Internal error",
      status: 500,
      instance: "/api/v1/connections",
    });
    expect(JSON.stringify(p)).not.toContain("hunter2");
  });

  it("renders an AppError with its code, status, message and field errors", () => {
    const err = new AppError("validation", "Check the highlighted fields.", {
      errors: [{ path: "slug", message: "Already taken" }],
    });
    expect(toProblem(err)).toEqual({
      type: `${PROBLEM_BASE}/validation`,
      title: "The request is not valid",
      status: 422,
      detail: "Check the highlighted fields.",
      errors: [{ path: "slug", message: "Already taken" }],
    });
  });

  it("does not echo an AppError's cause", () => {
    const err = new AppError("refresh-failed", "The provider refused the refresh.", {
      cause: new Error("upstream body: refresh_token=hunter2"),
    });
    const p = toProblem(err);
    expect(p.status).toBe(502);
    expect(JSON.stringify(p)).not.toContain("hunter2");
  });
});

describe("problemResponse", () => {
  it("sets problem+json, no-store, the request id and Retry-After", async () => {
    const res = problemResponse(new AppError("rate-limited", "Slow down.", { retryAfter: 1.2 }), {
      requestId: "req-9",
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-request-id")).toBe("req-9");
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toMatchObject({ status: 429, detail: "Slow down." });
  });

  it("answers 500 without detail for unexpected errors", async () => {
    const res = problemResponse(new Error("SELECT * FROM secrets -- hunter2"));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("hunter2");
  });
});

describe("fieldErrors", () => {
  it("joins issue paths with dots", () => {
    expect(fieldErrors([{ path: ["settings", 0, "host"], message: "Required" }])).toEqual([
      { path: "settings.0.host", message: "Required" },
    ]);
  });
});
