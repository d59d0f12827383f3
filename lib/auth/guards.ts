// Server-side checks used by every page, server action and route handler. A user who is not a
// member of an organization gets "not found" for it, exactly as if it did not exist.
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import { auth } from "@/lib/auth/auth";
import { db } from "@/lib/db/client";
import { roleAtLeast, type TRole } from "@/lib/auth/roles";
import { resolveOrgAccess } from "@/lib/auth/resolve-org-access";

export type SessionUser = {
  id: string;
  email: string;
  name: string | null;
  isStaff: boolean;
  /** a local password (not only OpenID Connect): the change-password page is theirs */
  hasPassword: boolean;
  /** signed in with a password someone else chose: nothing but choosing their own until they do */
  mustChangePassword: boolean;
};

/** Where a person who signed in with a password someone else chose is sent, whatever they asked for. */
export const CHOOSE_PASSWORD_PATH = "/choose-password";

/** The signed-in user, read fresh from the database (deleted users lose access at once). */
export const currentUser = cache(async (): Promise<SessionUser | null> => {
  const session = await auth();
  if (!session?.userId) return null;
  const u = await db().user.findUnique({
    where: { id: session.userId },
    select: { id: true, email: true, name: true, isStaff: true, passwordHash: true, mustChangePassword: true },
  });
  if (!u) return null;
  const { passwordHash, ...user } = u;
  return { ...user, hasPassword: passwordHash !== null };
});

/**
 * The signed-in user, or a redirect to sign-in. Someone who still has to choose their own password is
 * sent to do that (every page and action passes here), unless `choosingPassword` (that page and its action).
 */
export async function requireUser({
  choosingPassword = false,
}: { choosingPassword?: boolean } = {}): Promise<SessionUser> {
  const user = await currentUser();
  if (!user) redirect("/sign-in");
  if (user.mustChangePassword && !choosingPassword) redirect(CHOOSE_PASSWORD_PATH);
  return user;
}

export async function requireStaff(): Promise<SessionUser> {
  const user = await requireUser();
  if (!user.isStaff) notFound();
  return user;
}

/** The organization by slug, if the user may act in it with at least `min`; otherwise 404. */
export async function requireOrg(slug: string, min: TRole = "member") {
  const user = await requireUser();
  const access = await resolveOrgAccess({ db: db(), userId: user.id, isStaff: user.isStaff, slug });
  if (!access || !roleAtLeast(access.role, min)) notFound();
  return { user, org: access.org, role: access.role };
}
