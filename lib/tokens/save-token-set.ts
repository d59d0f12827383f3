// Writes a connection's tokens inside the caller's transaction. A response without a refresh token
// keeps the stored one (RFC 6749 §6). With `expectedVersion`, the write happens only if nobody else
// wrote since that version was read (returns false then).
import type { Tx } from "@/lib/db/client";
import type { TokenSetData } from "@/lib/oauth/parse-token-response";
import { sealToken } from "@/lib/tokens/token-secrets";

export async function saveTokenSet({
  tx,
  organizationId,
  connectionId,
  data,
  expectedVersion,
}: {
  tx: Tx;
  organizationId: string;
  connectionId: string;
  data: TokenSetData;
  expectedVersion?: number;
}): Promise<boolean> {
  const owner = { organizationId, connectionId };
  const fields = {
    accessTokenEnc: sealToken(owner, "accessTokenEnc", data.accessToken),
    ...(data.refreshToken ? { refreshTokenEnc: sealToken(owner, "refreshTokenEnc", data.refreshToken) } : {}),
    ...(data.idToken ? { idTokenEnc: sealToken(owner, "idTokenEnc", data.idToken) } : {}),
    tokenType: data.tokenType,
  };
  // The write comes first: on SQLite a transaction that reads before it writes fails at once with
  // SQLITE_BUSY_SNAPSHOT when another process commits in between (a refresh worker next to the server);
  // starting with the write takes the lock, waiting for it, instead.
  const { count } = await tx.tokenSet.updateMany({
    where: { connectionId, organizationId, ...(expectedVersion !== undefined ? { version: expectedVersion } : {}) },
    data: { ...fields, version: { increment: 1 } },
  });
  if (count === 1) return true;
  if (expectedVersion !== undefined && expectedVersion !== 0) return false;
  if (await tx.tokenSet.findUnique({ where: { connectionId }, select: { version: true } })) return false;
  await tx.tokenSet.create({ data: { organizationId, connectionId, ...fields } });
  return true;
}
