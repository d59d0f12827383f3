// next-auth (Auth.js v5): OpenID Connect for production (Microsoft Entra ID or any issuer), and a
// local password sign-in for the embedded default. Sessions are JWTs carrying only our user id;
// every request re-reads the user and their roles from the database (lib/auth/guards.ts).
import NextAuth, { CredentialsSignin, type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { z } from "zod";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { authSecret } from "@/lib/auth/secret";
import { authLogger } from "@/lib/auth/auth-logger";
import { checkPasswordSignIn } from "@/lib/auth/check-password-sign-in";
import { linkOidcUser } from "@/lib/auth/link-oidc-user";

const ZCredentials = z.object({
  email: z.email().transform((e) => e.toLowerCase()),
  password: z.string().min(1).max(500),
});

declare module "next-auth" {
  interface Session {
    userId?: string;
  }
}

function buildConfig(): NextAuthConfig {
  const e = env();
  const providers: NextAuthConfig["providers"] = [];
  if (e.oidc) {
    providers.push({
      id: "oidc",
      name: e.oidc.displayName,
      type: "oidc",
      issuer: e.oidc.issuer,
      clientId: e.oidc.clientId,
      clientSecret: e.oidc.clientSecret,
      authorization: { params: { scope: "openid email profile" } },
      checks: ["pkce", "state", "nonce"],
    });
  }
  if (e.localLogin) {
    providers.push(
      Credentials({
        id: "credentials",
        name: "Password",
        credentials: { email: {}, password: {} },
        async authorize(raw) {
          const parsed = ZCredentials.safeParse(raw);
          if (!parsed.success) throw new CredentialsSignin();
          const user = await checkPasswordSignIn({ db: db(), ...parsed.data });
          if (!user) throw new CredentialsSignin();
          // a password someone else chose: the portal asks for the person's own first (lib/auth/guards.ts)
          return { id: user.id, email: user.email, name: user.name };
        },
      }),
    );
  }
  return {
    secret: authSecret(),
    trustHost: true,
    logger: authLogger(),
    session: { strategy: "jwt", maxAge: 12 * 60 * 60 },
    pages: { signIn: "/sign-in", error: "/sign-in" },
    providers,
    callbacks: {
      async signIn({ account, profile }) {
        if (account?.provider !== "oidc") return true;
        const linked = await linkOidcUser({ issuer: e.oidc!.issuer, profile: profile ?? {} });
        return linked !== null;
      },
      async jwt({ token, user, account, profile }) {
        if (account?.provider === "credentials" && user?.id) token.uid = user.id;
        if (account?.provider === "oidc" && profile?.sub) {
          const u = await db().user.findUnique({
            where: { oidcSubject: `${e.oidc!.issuer}|${profile.sub}` },
            select: { id: true },
          });
          token.uid = u?.id;
        }
        return token;
      },
      async session({ session, token }) {
        if (typeof token.uid === "string") session.userId = token.uid;
        return session;
      },
    },
  };
}

export const { handlers, auth, signIn, signOut } = NextAuth(() => buildConfig());
