// connect.js (public/connect/index.js) run as a browser would run it: in its own global with a window
// it cannot tell from a real one for what it uses (open, message events, timers, fetch, location).
// The origin checks, the popup-blocked path, closed popups, the status-poll fallback and redirect mode.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { describe, expect, it } from "vitest";

const SOURCE = fs.readFileSync(path.join(__dirname, "../../public/connect/index.js"), "utf8");
const ORIGIN = "https://consentry.example.com";
const TOKEN = "A".repeat(43);
const URL_ = `${ORIGIN}/connect/${TOKEN}`;

type Listener = (e: unknown) => void;
type Event_ = { type: string; connectionId?: string; tenantId?: string; error?: string };

function browser(opts: { blockPopups?: boolean; status?: () => Record<string, unknown> } = {}) {
  const listeners = new Set<Listener>();
  const timers: Array<{ fn: () => void; every: number | null; at: number; id: number }> = [];
  let now = 0;
  let nextId = 1;
  const popup = { closed: false, close: () => void (popup.closed = true) };
  const opened: string[] = [];
  const assigned: string[] = [];
  const fetched: string[] = [];
  const win: Record<string, unknown> = {
    URL,
    Math,
    screenX: 0,
    screenY: 0,
    outerWidth: 1200,
    outerHeight: 900,
    open: (url: string) => {
      opened.push(url);
      return opts.blockPopups ? null : popup;
    },
    addEventListener: (type: string, fn: Listener) => type === "message" && listeners.add(fn),
    removeEventListener: (type: string, fn: Listener) => listeners.delete(fn),
    setInterval: (fn: () => void, ms: number) => {
      timers.push({ fn, every: ms, at: now + ms, id: nextId });
      return nextId++;
    },
    setTimeout: (fn: () => void, ms: number) => {
      timers.push({ fn, every: null, at: now + ms, id: nextId });
      return nextId++;
    },
    clearInterval: (id: number) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    location: { assign: (u: string) => void assigned.push(u) },
    fetch: (u: string) => {
      fetched.push(u);
      const body = opts.status?.() ?? { status: "pending" };
      return Promise.resolve({ json: () => Promise.resolve(body) });
    },
  };
  win.window = win;
  vm.runInNewContext(SOURCE, win);
  const Consentry = win.Consentry as {
    connect: (o: { url: string; mode?: string; onEvent?: (e: Event_) => void }) => { close(): void };
    acceptMessage: (e: unknown, origin: string, popup: unknown) => Event_ | null;
    parseConnectUrl: (u: string) => { origin: string; token: string } | null;
    version: string;
  };
  return {
    Consentry,
    popup,
    opened,
    assigned,
    fetched,
    post: (e: { origin: string; source?: unknown; data: unknown }) => listeners.forEach((l) => l(e)),
    listeners,
    /** advance the fake clock, running due timers, and let fetch promises settle */
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        now = t.at;
        if (t.every === null) timers.shift();
        else t.at += t.every;
        t.fn();
        await new Promise((r) => setImmediate(r));
      }
      now = end;
    },
  };
}

const result = (data: Record<string, unknown>) => ({ type: "consentry:result", ...data });

describe("connect.js: which messages it believes", () => {
  const { Consentry, popup } = browser();
  const ok = {
    origin: ORIGIN,
    source: popup,
    data: result({ status: "connected", connection_id: "c1", tenant_id: "t1" }),
  };

  it("Consentry's origin, the popup it opened and the result's shape: accepted", () => {
    expect(Consentry.acceptMessage(ok, ORIGIN, popup)).toEqual({
      type: "connected",
      connectionId: "c1",
      tenantId: "t1",
    });
    expect(
      Consentry.acceptMessage({ ...ok, data: result({ status: "error", error: "access_denied" }) }, ORIGIN, popup),
    ).toEqual({ type: "error", error: "access_denied" });
  });

  it("another origin, a look-alike origin, another window, or another shape: ignored", () => {
    for (const origin of [
      "https://evil.example",
      "http://consentry.example.com",
      "https://consentry.example.com.evil.example",
      "https://consentry.example.com:444",
      "null",
      "",
    ])
      expect(Consentry.acceptMessage({ ...ok, origin }, ORIGIN, popup), origin).toBeNull();
    expect(Consentry.acceptMessage({ ...ok, source: {} }, ORIGIN, popup)).toBeNull();
    for (const data of [
      null,
      "consentry:result",
      { type: "other", status: "connected" },
      result({ status: "pending" }),
      result({}),
    ])
      expect(Consentry.acceptMessage({ ...ok, data }, ORIGIN, popup), JSON.stringify(data)).toBeNull();
    expect(Consentry.acceptMessage(null, ORIGIN, popup)).toBeNull();
  });

  it("only connect URLs are accepted", () => {
    expect(Consentry.parseConnectUrl(URL_)).toEqual({ origin: ORIGIN, token: TOKEN });
    for (const u of [
      `${ORIGIN}/consent/${TOKEN}`,
      `${ORIGIN}/connect/short`,
      `javascript:alert(1)//connect/${TOKEN}`,
      "nope",
    ])
      expect(Consentry.parseConnectUrl(u), u).toBeNull();
    expect(() => Consentry.connect({ url: "https://x.example/" })).toThrow(/must be a connect_url/);
  });
});

describe("connect.js: a popup", () => {
  it("opened on the call, with mode=popup; a message from elsewhere is ignored; Consentry's message settles it and closes the popup", async () => {
    const b = browser();
    const events: Event_[] = [];
    b.Consentry.connect({ url: URL_, onEvent: (e) => events.push(e) });
    expect(b.opened).toEqual([`${URL_}?mode=popup`]);
    expect(events).toEqual([{ type: "opened" }]);
    b.post({
      origin: "https://evil.example",
      source: b.popup,
      data: result({ status: "connected", connection_id: "x" }),
    });
    expect(events).toHaveLength(1);
    b.post({ origin: ORIGIN, source: b.popup, data: result({ status: "connected", connection_id: "c1" }) });
    expect(events).toEqual([{ type: "opened" }, { type: "connected", connectionId: "c1" }]);
    expect(b.popup.closed).toBe(true);
    expect(b.listeners.size).toBe(0);
    // nothing more is reported after the result
    await b.advance(5000);
    expect(events).toHaveLength(2);
  });

  it("blocked: error popup_blocked at once, so the page can fall back to a redirect", () => {
    const b = browser({ blockPopups: true });
    const events: Event_[] = [];
    b.Consentry.connect({ url: URL_, onEvent: (e) => events.push(e) });
    expect(events).toEqual([{ type: "error", error: "popup_blocked" }]);
  });

  it("closed without a result: closed", async () => {
    const b = browser();
    const events: Event_[] = [];
    b.Consentry.connect({ url: URL_, onEvent: (e) => events.push(e) });
    await b.advance(1000);
    b.popup.closed = true;
    await b.advance(2000);
    expect(events.map((e) => e.type)).toEqual(["opened", "closed"]);
    expect(b.fetched.every((u) => u === `${ORIGIN}/connect/${TOKEN}/status`)).toBe(true);
  });

  it("no message can arrive (the opener was cut off): the status poll reports the result", async () => {
    let status: Record<string, unknown> = { status: "pending" };
    const b = browser({ status: () => status });
    const events: Event_[] = [];
    b.Consentry.connect({ url: URL_, onEvent: (e) => events.push(e) });
    await b.advance(2500);
    expect(events.map((e) => e.type)).toEqual(["opened"]);
    status = { status: "connected", connection_id: "c9", tenant_id: "t9" };
    await b.advance(2500);
    expect(events).toEqual([{ type: "opened" }, { type: "connected", connectionId: "c9", tenantId: "t9" }]);
  });
});

describe("connect.js: a redirect", () => {
  it("leaves the page for the connect URL with mode=redirect, and opens no popup", () => {
    const b = browser();
    const events: Event_[] = [];
    b.Consentry.connect({ url: URL_, mode: "redirect", onEvent: (e) => events.push(e) });
    expect(b.assigned).toEqual([`${URL_}?mode=redirect`]);
    expect(b.opened).toEqual([]);
    expect(events).toEqual([{ type: "opened" }]);
  });
});

describe("connect.js as documented", () => {
  it("the README's SRI hash is the served file's, so a page that copies it loads the script", () => {
    const readme = fs.readFileSync(path.join(__dirname, "../../README.md"), "utf8");
    const documented = /src="[^"]*\/connect\.js"\s+integrity="(sha384-[A-Za-z0-9+/=]+)"/.exec(readme)?.[1];
    const actual = `sha384-${crypto.createHash("sha384").update(SOURCE).digest("base64")}`;
    expect(documented).toBe(actual);
  });
});
