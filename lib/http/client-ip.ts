export const CLIENT_IP_HEADER = "x-consentry-client-ip";

/** The client address our server recorded (lib/server/main.ts overwrites any incoming value). */
export function clientIp(headers: Headers): string | null {
  return headers.get(CLIENT_IP_HEADER);
}
