import type { Db } from "@/lib/db/client";
import { AppError, fieldErrors } from "@/lib/errors";
import { recordAuditEvent, type Actor } from "@/lib/audit/record-audit-event";
import { ZCreateOrganization } from "@/lib/organizations/schemas";

const ZRename = ZCreateOrganization.pick({ name: true });

export async function renameOrganization({
  db,
  organizationId,
  input,
  actor,
}: {
  db: Db;
  organizationId: string;
  input: unknown;
  actor: Actor;
}) {
  const parsed = ZRename.safeParse(input);
  if (!parsed.success)
    throw new AppError("validation", "Check the highlighted fields.", {
      errors: fieldErrors(parsed.error.issues),
      i18n: { key: "errors.checkFields" },
    });
  const { count } = await db.organization.updateMany({
    where: { id: organizationId },
    data: { name: parsed.data.name },
  });
  if (count !== 1)
    throw new AppError("not-found", "Organization not found", { i18n: { key: "errors.organizationNotFound" } });
  await recordAuditEvent(
    {
      organizationId,
      actor,
      action: "organization.renamed",
      outcome: "success",
      target: { type: "organization", id: organizationId },
      details: { name: parsed.data.name },
    },
    db,
  );
}
