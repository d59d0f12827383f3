// Front door: signed-in users go to their organization, everyone else to sign-in.
import { redirect } from "next/navigation";
import { currentUser } from "@/lib/auth/guards";
import { db } from "@/lib/db/client";

export default async function Home() {
  const user = await currentUser();
  if (!user) redirect("/sign-in");
  const first = await db().membership.findFirst({
    where: { userId: user.id },
    orderBy: { createdAt: "asc" },
    select: { organization: { select: { slug: true } } },
  });
  redirect(first ? `/orgs/${first.organization.slug}` : "/orgs");
}
