// Every portal page requires a session; the shell lists the user's organizations. Staff also see
// a banner while the installation's background work is overdue (installation-wide figures: staff only).
import { requireUser } from "@/lib/auth/guards";
import { listUserOrganizations } from "@/lib/organizations/list-user-organizations";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { Shell } from "@/app/_components/shell";
import { BackgroundBanner } from "@/app/_components/background-banner";

export default async function PortalLayout({ children }: { children: React.ReactNode }) {
  const user = await requireUser();
  const orgs = await listUserOrganizations({ db: db(), userId: user.id, isStaff: user.isStaff });
  return (
    <Shell
      user={{
        email: user.email,
        name: user.name,
        isStaff: user.isStaff,
        changePassword: user.hasPassword && env().localLogin,
      }}
      orgs={orgs}
    >
      {user.isStaff ? <BackgroundBanner /> : null}
      {children}
    </Shell>
  );
}
