import { and, asc, eq, gte, lte } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { groupChanges, type GroupChangeRow } from '../schema.js';

export type NewGroupChange = Pick<
  GroupChangeRow,
  'conversationId' | 'kind' | 'actorId' | 'userIds' | 'names' | 'title' | 'afterSeq'
>;

export async function insertGroupChange(tx: Tx, change: NewGroupChange): Promise<GroupChangeRow> {
  const [row] = await tx.insert(groupChanges).values(change).returning();
  return row!;
}

/** A conversation's changes placed after messages `fromSeq`..`toSeq` (null: no bound), in timeline order. */
export function listGroupChanges(
  db: Executor,
  conversationId: string,
  fromSeq: number | null,
  toSeq: number | null,
  limit: number,
) {
  return db
    .select()
    .from(groupChanges)
    .where(
      and(
        eq(groupChanges.conversationId, conversationId),
        fromSeq !== null ? gte(groupChanges.afterSeq, fromSeq) : undefined,
        toSeq !== null ? lte(groupChanges.afterSeq, toSeq) : undefined,
      ),
    )
    .orderBy(asc(groupChanges.afterSeq), asc(groupChanges.createdAt), asc(groupChanges.id))
    .limit(limit);
}
