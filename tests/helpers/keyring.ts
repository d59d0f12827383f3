// Fixed test keys, so a failing assertion can be replayed by hand. Never used outside tests.
import { parseKeyring, setKeyringForTests } from "@/lib/crypto/keyring";

export const K1 = `k1:${Buffer.alloc(32, 0x11).toString("base64")}`;
export const K2 = `k2:${Buffer.alloc(32, 0x22).toString("base64")}`;
export const K3 = `k3:${Buffer.alloc(32, 0x33).toString("base64")}`;

/** Installs a keyring made of these key lines; the first one encrypts. */
export function installKeyring(...lines: string[]) {
  setKeyringForTests(parseKeyring(lines.join(","), "test keyring"));
}
