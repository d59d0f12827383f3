import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { ZCreateOrganization } from "@/lib/organizations/schemas";

/** Creates an organization; `ownerUserId` (if given) becomes its owner. */
export async function createOrganization({
  db,
  input,
  ownerUserId,
  actor,
}: {
  db: Db;
  input: unknown;
  ownerUserId?: string;
  actor: Actor;
}) {
  const parsed = ZCreateOrganization.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const { name, slug } = parsed.data;
  const slugTaken = () =>
    new AppError("conflict", `An organization with the address "${slug}" already exists.`, {
      errors: [{ path: "slug", message: "validation.slugTaken" }],
      i18n: { key: "errors.slugTaken", values: { slug } },
    });
  // The transaction starts with its write: on SQLite a transaction that reads first cannot take the
  // write lock while another process writes ("database is locked"). The unique index decides conflicts.
  const org = await db
    .$transaction(async (tx) => {
      const created = await tx.organization.create({ data: { name, slug } });
      if (ownerUserId)
        await tx.membership.create({ data: { organizationId: created.id, userId: ownerUserId, role: "owner" } });
      return created;
    })
    .catch((e: unknown) => {
      throw (e as { code?: unknown }).code === "P2002" ? slugTaken() : e;
    });
  await recordAuditEvent(
    {
      organizationId: org.id,
      actor,
      action: "organization.created",
      outcome: "success",
      target: { type: "organization", id: org.id },
      details: { slug, name },
    },
    db,
  );
  return org;
}
