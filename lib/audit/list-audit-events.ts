import { z } from "zod";
import type { Db } from "@/lib/db/client";

export const ZAuditQuery = z.object({
  cursor: z.string().max(64).optional(),
  action: z
    .string()
    .max(64)
    .regex(/^[a-z_.]*$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** Newest first, cursor-paginated. `organizationId: null` lists installation-wide events (staff only). */
export async function listAuditEvents({
  db,
  organizationId,
  query,
}: {
  db: Db;
  organizationId: string | null;
  query: z.infer<typeof ZAuditQuery>;
}) {
  const rows = await db.auditEvent.findMany({
    where: { organizationId, ...(query.action ? { action: { startsWith: query.action } } : {}) },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: query.limit + 1,
    ...(query.cursor ? { cursor: { id: query.cursor }, skip: 1 } : {}),
  });
  const page = rows.slice(0, query.limit);
  return { events: page, nextCursor: rows.length > query.limit ? page[page.length - 1]!.id : null };
}
