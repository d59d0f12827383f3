// Server-side checks used by every page, server action and route handler. A user who is not a
// member of an organization gets "not found" for it, exactly as if it did not exist.
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import { auth } from "@/lib/auth/auth";
import { db } from "@/lib/db/client";
import { roleAtLeast, type TRole } from "@/lib/auth/roles";
import { resolveOrgAccess } from "@/lib/auth/resolve-org-access";

export type SessionUser = { id: string; email: string; name: string | null; isStaff: boolean };

/** The signed-in user, read fresh from the database (deleted users lose access at once). */
export const currentUser = cache(async (): Promise<SessionUser | null> => {
  const session = await auth();
  if (!session?.userId) return null;
  return db().user.findUnique({
    where: { id: session.userId },
    select: { id: true, email: true, name: true, isStaff: true },
  });
});

export async function requireUser(): Promise<SessionUser> {
  const user = await currentUser();
  if (!user) redirect("/sign-in");
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
