// Types of Consentry's connect.js (public/connect/index.js, served at /connect.js).

export type ConnectEventType = "opened" | "connected" | "error" | "closed";

export interface ConnectEvent {
  type: ConnectEventType;
  /** connected (and error, when the connection exists): the connection's id */
  connectionId?: string;
  /** Microsoft 365: the tenant that consented */
  tenantId?: string;
  /** error: why — popup_blocked, access_denied, expired, used, revoked, tenant_conflict, … */
  error?: string;
}

export interface ConnectOptions {
  /** the connect_url from POST /api/v1/connect-sessions */
  url: string;
  /** popup (default): the page stays and hears the result; redirect: the page is left and return_url is reached */
  mode?: "popup" | "redirect";
  onEvent?: (event: ConnectEvent) => void;
}

export interface ConnectHandle {
  /** closes the popup (no result is reported for it) */
  close(): void;
}

/** Opens consent; call it from the click handler itself so the popup is not blocked. */
export function connect(options: ConnectOptions): ConnectHandle;

/** The check connect.js applies to every message: Consentry's origin, the popup it opened, the result's shape. */
export function acceptMessage(
  event: { origin: string; source?: unknown; data: unknown } | null | undefined,
  expectedOrigin: string,
  popup: unknown,
): ConnectEvent | null;

export function parseConnectUrl(url: string): { origin: string; token: string } | null;

export const version: string;

declare global {
  interface Window {
    Consentry?: { connect: typeof connect; version: string };
  }
}
