import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { conversations, members, messages } from '../schema.js';

export interface NewMessage {
  id: string;
  conversationId: string;
  senderId: string;
  clientId: string;
  body: string;
  /** ISO-8601, chosen by the caller so that the stored event carries the same message. */
  createdAt: string;
}

export type StoreResult =
  | { kind: 'stored'; seq: number; eventId: number; recipients: string[] }
  | { kind: 'duplicate' }
  | { kind: 'not-member' }
  /** Members joined or left while this waited for the conversation: run it again. */
  | { kind: 'members-changed' };

/**
 * Stores a message and its `message.new` event in ONE statement (one round trip, no transaction
 * held open across the network, so the conversation and event-clock row locks are held only
 * while PostgreSQL executes it). The statement: checks membership and the clientId; takes the
 * next seq from the conversation row (its row lock orders senders, and a waiting sender re-reads
 * the row, so seqs are dense); inserts the message; moves the sender's read position; appends
 * the event with the next id of the event clock for the members. Everything but the row updates
 * reads the snapshot taken when the statement began, so the seq update also requires the member
 * version seen in that snapshot: if members changed while it waited, nothing is written and the
 * caller runs it again. A concurrent retry of the same clientId loses on the unique index.
 */
export async function storeMessage(db: Executor, m: NewMessage): Promise<StoreResult> {
  const result = await db.execute(sql`
    with
      member as (
        select 1 from conversation_members where conversation_id = ${m.conversationId} and user_id = ${m.senderId}
      ),
      seen as (select member_version from conversations where id = ${m.conversationId}),
      duplicate as (
        select 1 from messages
        where conversation_id = ${m.conversationId} and sender_id = ${m.senderId} and client_id = ${m.clientId}
      ),
      bumped as (
        update conversations set last_seq = last_seq + 1, updated_at = now()
        where id = ${m.conversationId}
          and member_version = (select member_version from seen)
          and exists (select 1 from member) and not exists (select 1 from duplicate)
        returning last_seq
      ),
      inserted as (
        insert into messages (id, conversation_id, sender_id, client_id, seq, body, created_at)
        select ${m.id}::uuid, ${m.conversationId}::uuid, ${m.senderId}::uuid, ${m.clientId}::uuid, last_seq, ${m.body}::text, ${m.createdAt}::timestamptz
        from bumped
        returning seq
      ),
      own_read as (
        update conversation_members set last_read_seq = inserted.seq from inserted
        where conversation_id = ${m.conversationId} and user_id = ${m.senderId}
      ),
      recipients as (
        select array_agg(user_id) as ids from conversation_members where conversation_id = ${m.conversationId}
      ),
      clock as (
        update event_clock set value = value + 1 where id = 1 and exists (select 1 from inserted) returning value
      ),
      event as (
        insert into events (id, recipients, payload)
        select clock.value, recipients.ids,
          -- The event carries the message as the API shapes it: these fields and its seq.
          jsonb_build_object('type', 'message.new', 'message', ${JSON.stringify(m)}::jsonb || jsonb_build_object('seq', inserted.seq))
        from clock, recipients, inserted
        returning id
      )
    select
      exists (select 1 from member) as is_member,
      exists (select 1 from duplicate) as is_duplicate,
      (select seq from inserted) as seq,
      (select id from event) as event_id,
      (select ids from recipients) as recipients
  `);
  // postgres.js answers the rows, PGlite an object holding them.
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
    is_member: boolean;
    is_duplicate: boolean;
    seq: number | null;
    event_id: string | number | null;
    recipients: string[] | string | null;
  }[];
  const row = rows[0]!;
  if (row.seq !== null && row.event_id !== null) {
    return { kind: 'stored', seq: Number(row.seq), eventId: Number(row.event_id), recipients: uuidArray(row.recipients) };
  }
  if (!row.is_member) return { kind: 'not-member' };
  if (row.is_duplicate) return { kind: 'duplicate' };
  return { kind: 'members-changed' };
}

/** A uuid[] as the driver hands it: parsed, or in PostgreSQL's text form. */
function uuidArray(value: string[] | string | null): string[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value;
  return value.replace(/^\{|\}$/g, '').split(',').filter(Boolean);
}

export async function findMessageByClientId(tx: Executor, conversationId: string, senderId: string, clientId: string) {
  const [row] = await tx
    .select()
    .from(messages)
    .where(
      and(eq(messages.conversationId, conversationId), eq(messages.senderId, senderId), eq(messages.clientId, clientId)),
    );
  return row;
}

/** Up to `limit` messages before `beforeSeq` (or the newest), in ascending seq. */
export async function listMessages(db: Executor, conversationId: string, beforeSeq: number | undefined, limit: number) {
  const rows = await db
    .select()
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), beforeSeq ? lt(messages.seq, beforeSeq) : undefined))
    .orderBy(desc(messages.seq))
    .limit(limit + 1);
  const hasMore = rows.length > limit;
  return { items: rows.slice(0, limit).reverse(), hasMore };
}

/** Moves the member's read position forward only, never past the last message. */
export async function advanceReadSeq(db: Executor, conversationId: string, userId: string, seq: number) {
  const [row] = await db
    .update(members)
    .set({
      lastReadSeq: sql`greatest(${members.lastReadSeq}, least(${seq}, (select ${conversations.lastSeq} from ${conversations} where ${conversations.id} = ${conversationId})))`,
    })
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)))
    .returning({ lastReadSeq: members.lastReadSeq });
  return row?.lastReadSeq;
}
