/*! Consentry connect.js 1.0.0 — consent embedded in your product. No dependencies. MIT licence. */
// Consentry's own browser script (nothing to reuse: it is the other half of /connect/{token}).
(function (root, factory) {
  var api = factory(root);
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.Consentry = api;
})(typeof window !== "undefined" ? window : globalThis, function (root) {
  "use strict";
  var VERSION = "1.0.0";
  var TOKEN = /^\/connect\/([A-Za-z0-9_-]{43})\/?$/;
  var noop = function () {};

  /** The origin and token of a connect_url, or null when it is not one. */
  function parseConnectUrl(url) {
    var u;
    try {
      u = new URL(url);
    } catch (e) {
      return null;
    }
    var m = TOKEN.exec(u.pathname);
    if (!m || (u.protocol !== "https:" && u.protocol !== "http:")) return null;
    return { origin: u.origin, token: m[1] };
  }

  /**
   * A message is believed only when it comes from Consentry's origin, from the popup this call opened,
   * and has the result's shape. Anything else (another window, another origin, another shape) is ignored.
   */
  function acceptMessage(event, expectedOrigin, popup) {
    if (!event || event.origin !== expectedOrigin) return null;
    if (popup && event.source !== popup) return null;
    var d = event.data;
    if (!d || typeof d !== "object" || d.type !== "consentry:result") return null;
    if (d.status !== "connected" && d.status !== "error") return null;
    return toEvent(d.status, d);
  }

  function toEvent(status, d) {
    var ev = { type: status === "connected" ? "connected" : "error" };
    if (typeof d.connection_id === "string") ev.connectionId = d.connection_id;
    if (typeof d.tenant_id === "string") ev.tenantId = d.tenant_id;
    if (ev.type === "error") ev.error = typeof d.error === "string" ? d.error : status;
    return ev;
  }

  function withMode(url, mode) {
    var u = new URL(url);
    u.searchParams.set("mode", mode);
    return u.toString();
  }

  function features(width, height) {
    var left = Math.max(0, (root.screenX || 0) + ((root.outerWidth || width) - width) / 2);
    var top = Math.max(0, (root.screenY || 0) + ((root.outerHeight || height) - height) / 2);
    return "popup,width=" + width + ",height=" + height + ",left=" + Math.round(left) + ",top=" + Math.round(top);
  }

  /**
   * Consentry.connect({ url, mode: "popup" | "redirect", onEvent }). Call it from the click handler
   * itself: a popup opened later is blocked, and then onEvent gets { type: "error", error: "popup_blocked" }.
   */
  function connect(options) {
    var opts = options || {};
    var onEvent = typeof opts.onEvent === "function" ? opts.onEvent : noop;
    var target = parseConnectUrl(opts.url);
    if (!target) throw new TypeError("Consentry.connect: url must be a connect_url (…/connect/{token})");
    if (opts.mode === "redirect") {
      onEvent({ type: "opened" });
      root.location.assign(withMode(opts.url, "redirect"));
      return { close: noop };
    }
    var popup = root.open(withMode(opts.url, "popup"), "consentry-connect", features(600, 720));
    if (!popup) {
      onEvent({ type: "error", error: "popup_blocked" });
      return { close: noop };
    }
    var statusUrl = target.origin + "/connect/" + target.token + "/status";
    var settled = false;
    var closedAt = 0;
    var ticks = 0;
    var polling = false;

    function settle(ev) {
      if (settled) return;
      settled = true;
      stop();
      onEvent(ev);
      try {
        if (!popup.closed) popup.close();
      } catch (e) {
        /* a popup cut off from this page cannot be closed from here */
      }
    }
    function onMessage(event) {
      var ev = acceptMessage(event, target.origin, popup);
      if (ev) settle(ev);
    }
    // The status poll: the fallback when no message can arrive (a provider whose
    // Cross-Origin-Opener-Policy cut the popup off from this page).
    function poll() {
      if (polling || typeof root.fetch !== "function") return;
      polling = true;
      root
        .fetch(statusUrl, { credentials: "omit", cache: "no-store" })
        .then(function (r) {
          return r.json();
        })
        .then(function (s) {
          polling = false;
          if (s && (s.status === "connected" || s.status === "error" || s.status === "expired"))
            settle(toEvent(s.status, s));
        })
        .catch(function () {
          polling = false;
        });
    }
    var timer = root.setInterval(function () {
      ticks += 1;
      if (!closedAt && popup.closed) {
        closedAt = ticks;
        // no result yet: say so, and keep asking a while (a popup cut off by COOP looks closed too)
        root.setTimeout(function () {
          if (!settled) onEvent({ type: "closed" });
        }, 1200);
        poll();
        return;
      }
      if (ticks % 4 === 0) poll();
      if (closedAt && ticks - closedAt > 1200) stop();
    }, 500);
    function stop() {
      root.removeEventListener("message", onMessage);
      root.clearInterval(timer);
    }
    root.addEventListener("message", onMessage);
    onEvent({ type: "opened" });
    return {
      close: function () {
        try {
          popup.close();
        } catch (e) {
          /* already gone */
        }
      },
    };
  }

  return { version: VERSION, connect: connect, acceptMessage: acceptMessage, parseConnectUrl: parseConnectUrl };
});
