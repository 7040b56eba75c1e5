import { messageDetails, type Executor, type MessageRow } from '@parley/db';
import { toMessage, type Message } from '../presenters.js';

/** Rows as the API shows them: with their reply quotes and reactions, loaded for all at once. */
export async function presentMessages(db: Executor, rows: MessageRow[]): Promise<Message[]> {
  const details = await messageDetails(db, rows);
  return rows.map((row) => toMessage(row, details.get(row.id)!));
}

export async function presentMessage(db: Executor, row: MessageRow): Promise<Message> {
  return (await presentMessages(db, [row]))[0]!;
}
