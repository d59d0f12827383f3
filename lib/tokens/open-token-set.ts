// A stored token set in plaintext, for moving a connection to another organization or installation
// (lib/connections/export-connection.ts). Like every other token read, it happens inside lib/tokens.
import { openToken } from "@/lib/tokens/token-secrets";

export type OpenTokenSet = {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  tokenType: string;
};

export function openTokenSet(
  owner: { organizationId: string; connectionId: string },
  row: { accessTokenEnc: string; refreshTokenEnc: string | null; idTokenEnc: string | null; tokenType: string },
): OpenTokenSet {
  return {
    accessToken: openToken(owner, "accessTokenEnc", row.accessTokenEnc),
    refreshToken: row.refreshTokenEnc ? openToken(owner, "refreshTokenEnc", row.refreshTokenEnc) : null,
    idToken: row.idTokenEnc ? openToken(owner, "idTokenEnc", row.idTokenEnc) : null,
    tokenType: row.tokenType,
  };
}
