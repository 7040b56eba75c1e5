import { getTableName, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import * as schema from '../schema.js';

const tables = [
  schema.users,
  schema.sessions,
  schema.refreshTokens,
  schema.conversations,
  schema.members,
  schema.messages,
  schema.messageReactions,
  schema.events,
  schema.calls,
  schema.pushSubscriptions,
  schema.notificationSettings,
  schema.callParticipants,
  schema.emailTokens,
  schema.recoveryCodes,
  schema.passkeys,
  schema.webauthnChallenges,
  schema.blocks,
  schema.attachments,
  schema.mailOutbox,
];

/** Row counts of every table: lets tests show that a rejected call changed nothing. */
export async function countRows(db: Executor): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of tables) {
    const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(table);
    out[getTableName(table)] = Number(row!.n);
  }
  return out;
}
