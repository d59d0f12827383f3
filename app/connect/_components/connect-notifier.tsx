"use client";
// Tells the integrator's page how a connect session ended, and only at the origins it allowed: a
// popup posts {type:"consentry:result", …} to its opener once per allowed origin (the browser delivers
// it only where the opener's origin matches) and closes; a redirect goes on to the return URL.
import { useEffect } from "react";

export type ConnectNotice = {
  origins: string[];
  mode: "popup" | "redirect" | null;
  returnUrl: string | null;
  result: { status: string; connectionId: string | null; tenantId: string | null; error: string | null };
};

export function resultMessage(r: ConnectNotice["result"]) {
  return {
    type: "consentry:result",
    status: r.status === "connected" ? "connected" : "error",
    connection_id: r.connectionId,
    ...(r.tenantId ? { tenant_id: r.tenantId } : {}),
    ...(r.status === "connected" ? {} : { error: r.error ?? r.status }),
  };
}

/** The return URL with status, connection_id and error added (nothing its owner could not know). */
export function returnTarget(returnUrl: string, r: ConnectNotice["result"]): string {
  const u = new URL(returnUrl);
  u.searchParams.set("status", r.status === "connected" ? "connected" : "error");
  if (r.connectionId) u.searchParams.set("connection_id", r.connectionId);
  if (r.status !== "connected") u.searchParams.set("error", r.error ?? r.status);
  return u.toString();
}

export function ConnectNotifier({ notice }: { notice: ConnectNotice }) {
  useEffect(() => {
    const opener = window.opener as Window | null;
    if (opener && !opener.closed) {
      const message = resultMessage(notice.result);
      for (const origin of notice.origins) {
        try {
          opener.postMessage(message, origin);
        } catch {
          // an origin the browser refuses to address: nothing is sent there
        }
      }
      const t = window.setTimeout(() => window.close(), 300);
      return () => window.clearTimeout(t);
    }
    // a popup whose opener was lost (the provider's Cross-Origin-Opener-Policy): the script polls instead
    if (notice.mode !== "popup" && notice.returnUrl)
      window.location.replace(returnTarget(notice.returnUrl, notice.result));
  }, [notice]);
  return null;
}
