// Front door: signed-in users go to their organization, everyone else to sign-in.
import { redirect } from "next/navigation";
import { CHOOSE_PASSWORD_PATH, currentUser } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";

export default async function Home() {
  const user = await currentUser();
  if (!user) redirect("/sign-in");
  if (user.mustChangePassword) redirect(CHOOSE_PASSWORD_PATH);
  const first = await db().membership.findFirst({
    where: { userId: user.id },
    orderBy: { createdAt: "asc" },
    select: { organization: { select: { slug: true } } },
  });
  redirect(first ? `/orgs/${first.organization.slug}` : "/orgs");
}
