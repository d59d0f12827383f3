// Many active connections at a rotating authorization server (tests/fixtures/rotating-as.ts), written
// straight into the database as consent would leave them (sealed tokens, due for refresh), and the
// count of what a fault cost: connections whose stored refresh token is no longer the one the
// server would accept.
import crypto from "node:crypto";
import type { Db } from "@/lib/db/client";
import { saveOAuthApp } from "@/lib/oauth-apps/save-oauth-app";
import { sealToken, openToken } from "@/lib/tokens/token-secrets";
import type { RotatingAs } from "../fixtures/rotating-as";
import { seedOrg } from "./factories";

const SYSTEM = { type: "system", label: "fault test" } as const;

export type SeededConnection = { id: string; grantId: string };

/** `count` generic-oauth2 connections, each on its own fresh grant, due for refresh now. */
export async function seedRotatingConnections({
  db,
  as,
  count,
  organizationId,
  dueInMs = -1000,
  expiresInMs = 5 * 60_000,
}: {
  db: Db;
  as: RotatingAs;
  count: number;
  organizationId?: string;
  /** nextRefreshAt relative to now (negative: due) */
  dueInMs?: number;
  /** the seeded access tokens' remaining life */
  expiresInMs?: number;
}): Promise<{ organizationId: string; oauthAppId: string; connections: SeededConnection[] }> {
  const orgId = organizationId ?? (await seedOrg(db)).id;
  const app = await saveOAuthApp({
    db,
    organizationId: orgId,
    input: {
      providerId: "generic-oauth2",
      name: `rotating ${crypto.randomBytes(3).toString("hex")}`,
      clientId: as.client.client_id,
      clientSecret: as.client.client_secret,
    },
    actor: SYSTEM,
  });
  const settings = JSON.stringify({
    authorization_url: `${as.url}/authorize`,
    token_url: as.tokenUrl,
    client_auth: "client_secret_post",
  });
  const now = Date.now();
  const connections: SeededConnection[] = [];
  for (let i = 0; i < count; i += 250) {
    const chunk = Array.from({ length: Math.min(250, count - i) }, (_, k) => ({
      id: `rot_${i + k}_${crypto.randomBytes(6).toString("hex")}`,
      grant: as.mintGrant(),
    }));
    await db.connection.createMany({
      data: chunk.map((c, k) => ({
        id: c.id,
        organizationId: orgId,
        providerId: "generic-oauth2",
        oauthAppId: app.id,
        name: `rotating ${i + k}`,
        settings,
        status: "active",
        connectedAt: new Date(now),
        expiresAt: new Date(now + expiresInMs),
        lastRefreshedAt: new Date(now),
        nextRefreshAt: new Date(now + dueInMs),
      })),
    });
    await db.tokenSet.createMany({
      data: chunk.map((c) => {
        const owner = { organizationId: orgId, connectionId: c.id };
        return {
          organizationId: orgId,
          connectionId: c.id,
          accessTokenEnc: sealToken(owner, "accessTokenEnc", c.grant.accessToken),
          refreshTokenEnc: sealToken(owner, "refreshTokenEnc", c.grant.refreshToken),
          tokenType: "Bearer",
        };
      }),
    });
    connections.push(...chunk.map((c) => ({ id: c.id, grantId: c.grant.id })));
  }
  return { organizationId: orgId, oauthAppId: app.id, connections };
}

export type LossReport = {
  /** connections whose stored refresh token is not the grant's current one (the next refresh would be refused) */
  lost: string[];
  /** connections the database already marks as needing consent again */
  needsReconsent: string[];
  /** grants the server revoked (reuse detected) */
  revokedGrants: number;
};

/** What a fault cost: compares every connection's stored refresh token with the server's current one. */
export async function countLosses(db: Db, as: RotatingAs, connections: SeededConnection[]): Promise<LossReport> {
  const rows = await db.connection.findMany({
    where: { id: { in: connections.map((c) => c.id) } },
    include: { tokenSet: true },
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const lost: string[] = [];
  const needsReconsent: string[] = [];
  for (const c of connections) {
    const row = byId.get(c.id);
    const grant = as.grants.get(c.grantId)!;
    if (row?.status === "needs_reconsent") needsReconsent.push(c.id);
    const stored = row?.tokenSet?.refreshTokenEnc
      ? openToken(
          { organizationId: row.organizationId, connectionId: c.id },
          "refreshTokenEnc",
          row.tokenSet.refreshTokenEnc,
        )
      : null;
    if (grant.revoked || stored !== grant.refreshToken) lost.push(c.id);
  }
  return { lost, needsReconsent, revokedGrants: [...as.grants.values()].filter((g) => g.revoked).length };
}
