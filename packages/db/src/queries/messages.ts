import { and, asc, desc, eq, getTableColumns, gt, lt, sql } from 'drizzle-orm';
import { hotStatement, type Executor } from '../client.js';
import { conversations, members, messages } from '../schema.js';

/** A message's columns without the search vector (only the database reads that). */
const { search: _search, ...messageColumnsOnly } = getTableColumns(messages);
export const messageColumns = messageColumnsOnly;

/** What `messages.send` stores as the reply: the quoted message, as it is when the reply is sent. */
export interface StoredReplyTo {
  id: string;
  seq: number;
  senderId: string;
  excerpt: string | null;
}
/** How much of the quoted message a reply carries. */
export const EXCERPT_LENGTH = 200;

export interface NewMessage {
  id: string;
  conversationId: string;
  senderId: string;
  clientId: string;
  body: string;
  /** ISO-8601, chosen by the caller so that the stored event carries the same message. */
  createdAt: string;
  /** Must name a message of the same conversation that is not deleted. */
  replyToId: string | null;
  /**
   * The `message.new` event to log, built by the caller (the API's protocol). The statement sets
   * the two things the caller cannot know: `message.seq` (the seq it assigns) and
   * `message.replyTo` (the quoted message as it is now).
   */
  event: unknown;
  /** The event log partition of the conversation. */
  partition: number;
}

export type StoreResult =
  | {
      kind: 'stored';
      seq: number;
      partition: number;
      eventId: number;
      recipients: string[];
      replyTo: StoredReplyTo | null;
    }
  | { kind: 'duplicate' }
  | { kind: 'not-member' }
  /** A direct chat whose other member blocked the sender (`by: 'other'`), or whom the sender blocked. */
  | { kind: 'blocked'; by: 'other' | 'sender' }
  /** `replyToId` names no live message of this conversation. */
  | { kind: 'bad-reply' }
  /** Members joined or left while this waited for the conversation: run it again. */
  | { kind: 'members-changed' };

/** The statement of storeMessages (below), its text built once. */
const storeStatement = hotStatement<
  [string],
  {
    is_member: boolean;
    sender_blocked: boolean | null;
    is_duplicate: boolean;
    reply_to: StoredReplyTo | string | null;
    reply_to_id: string | null;
    seq: number | null;
    partition: number | null;
    event_id: string | number | null;
    recipients: string[] | string | null;
  }
>(
  (input) => sql`
    with
      input as (
        select * from jsonb_to_recordset(${input}::text::jsonb) as t(
          ord int, id uuid, "conversationId" uuid, "senderId" uuid, "clientId" uuid, body text, "createdAt" timestamptz,
          "replyToId" uuid, event jsonb, partition int)
      ),
      -- Each check probes an index once per input row (lateral, limit 1). As plain subqueries the
      -- planner may hash them instead, scanning the whole table on every send: jsonb_to_recordset
      -- is estimated at 100 rows, and against fewer than ~30,000 messages a scan then looks cheaper.
      checked as (
        select i.*, member.ok is not null as is_member, duplicate.ok is not null as is_duplicate,
          quoted.reply_to, block.sender_blocked
        from input i
        left join lateral (
          select true as ok from conversation_members m
          where m.conversation_id = i."conversationId" and m.user_id = i."senderId" limit 1
        ) member on true
        left join lateral (
          select true as ok from messages x
          where x.conversation_id = i."conversationId" and x.sender_id = i."senderId" and x.client_id = i."clientId"
          limit 1
        ) duplicate on true
        left join lateral (
          select jsonb_build_object('id', r.id, 'seq', r.seq, 'senderId', r.sender_id, 'excerpt', left(r.body, ${EXCERPT_LENGTH})) as reply_to
          from messages r
          where r.id = i."replyToId" and r.conversation_id = i."conversationId" and r.deleted_at is null
          limit 1
        ) quoted on true
        -- A direct chat with a block between the two: null when there is none, else whether the
        -- sender is the blocker (false first: being blocked answers as a missing conversation).
        left join lateral (
          select b.blocker_id = i."senderId" as sender_blocked
          from conversations dc
          join conversation_members o on o.conversation_id = dc.id and o.user_id <> i."senderId"
          join blocks b on (b.blocker_id = o.user_id and b.blocked_id = i."senderId")
            or (b.blocker_id = i."senderId" and b.blocked_id = o.user_id)
          where dc.id = i."conversationId" and dc.kind = 'direct'
          order by 1 limit 1
        ) block on true
      ),
      valid as (
        select * from checked
        where is_member and sender_blocked is null and not is_duplicate and ("replyToId" is null or reply_to is not null)
      ),
      counts as (
        select v."conversationId" as conversation_id, count(*)::int as n, min(c.member_version) as member_version
        from valid v join conversations c on c.id = v."conversationId"
        group by v."conversationId"
      ),
      locked as (
        select id from conversations where id in (select conversation_id from counts) order by id for update
      ),
      bumped as (
        update conversations c set last_seq = c.last_seq + counts.n, updated_at = now()
        from counts
        where c.id = counts.conversation_id and c.id in (select id from locked) and c.member_version = counts.member_version
        returning c.id, c.last_seq
      ),
      numbered as (
        select v.*, (b.last_seq - k.n + row_number() over (partition by v."conversationId" order by v.ord))::int as seq
        from valid v join bumped b on b.id = v."conversationId" join counts k on k.conversation_id = v."conversationId"
      ),
      inserted as (
        insert into messages (id, conversation_id, sender_id, client_id, seq, body, created_at, reply_to_id)
        select id, "conversationId", "senderId", "clientId", seq, body, "createdAt", "replyToId" from numbered
        returning seq
      ),
      own_read as (
        update conversation_members m set last_read_seq = r.seq
        from (select "conversationId" as conversation_id, "senderId" as sender_id, max(seq) as seq from numbered group by 1, 2) r
        where m.conversation_id = r.conversation_id and m.user_id = r.sender_id and m.last_read_seq < r.seq
        returning 1
      ),
      recipients as (
        select conversation_id, array_agg(user_id) as ids from conversation_members
        where conversation_id in (select "conversationId" from numbered)
        group by conversation_id
      ),
      parts as (select partition, count(*)::int as n from numbered group by partition),
      -- The partitions' counter rows in partition order (no deadlock between two statements), and
      -- after the member rows, as messages.markRead takes them (no deadlock between the two).
      parts_locked as (
        select partition from event_partitions
        where partition in (select partition from parts) and (select count(*) from own_read) >= 0
        order by partition for update
      ),
      clock as (
        update event_partitions ep set value = ep.value + p.n
        from parts p
        where ep.partition = p.partition and ep.partition in (select partition from parts_locked)
        returning ep.partition, ep.value, p.n
      ),
      appended as (
        select n.ord, n.seq, n.partition, r.ids as recipients, n.event, n.reply_to,
          c.value - c.n + row_number() over (partition by n.partition order by n.ord) as event_id
        from numbered n join clock c on c.partition = n.partition join recipients r on r.conversation_id = n."conversationId"
      ),
      logged as (
        insert into events (partition, id, recipients, payload)
        select partition, event_id, recipients,
          jsonb_set(jsonb_set(a.event, '{message,seq}', to_jsonb(a.seq)), '{message,replyTo}', coalesce(a.reply_to, 'null'::jsonb))
        from appended a
        returning id
      )
    select c.ord, c.is_member, c.sender_blocked, c.is_duplicate, c.reply_to, c."replyToId" as reply_to_id, a.seq, a.partition, a.event_id, a.recipients
    from checked c left join appended a on a.ord = c.ord
    order by c.ord
  `,
);

/**
 * Stores messages and their `message.new` events in ONE statement (one round trip, no transaction
 * held open across the network, so the conversation and partition-counter row locks are held
 * only while PostgreSQL executes it; several messages share one statement, one commit and one turn
 * of each event partition's lock). For each message the statement checks membership, a block between the two of a direct chat, and the clientId;
 * locks the conversations in id order (two batches never deadlock on them); takes the next seqs
 * from each conversation row (its lock orders senders, and a waiting statement re-reads the row,
 * so seqs are dense and follow the input order); inserts the messages; moves the senders' read
 * positions; appends the events with the next ids of their partitions (locked in partition order). Everything but the row
 * updates reads the snapshot taken when the statement began, so a conversation's seq update also
 * requires the member version seen in that snapshot: if members changed meanwhile, none of its
 * messages is written and the caller runs them again. The same clientId twice in one batch, or
 * racing another statement, fails the statement on the unique index.
 */
export async function storeMessages(db: Executor, batch: NewMessage[]): Promise<StoreResult[]> {
  const input = JSON.stringify(batch.map((m, ord) => ({ ...m, ord })));
  const rows = await storeStatement(db, input);
  return rows.map((row): StoreResult => {
    if (row.seq !== null && row.event_id !== null) {
      // PGlite hands jsonb back parsed, postgres.js in a raw statement as text.
      const replyTo = typeof row.reply_to === 'string' ? (JSON.parse(row.reply_to) as StoredReplyTo) : row.reply_to;
      return {
        kind: 'stored',
        seq: Number(row.seq),
        partition: Number(row.partition),
        eventId: Number(row.event_id),
        recipients: uuidArray(row.recipients),
        replyTo,
      };
    }
    if (!row.is_member) return { kind: 'not-member' };
    if (row.sender_blocked !== null) return { kind: 'blocked', by: row.sender_blocked ? 'sender' : 'other' };
    if (row.is_duplicate) return { kind: 'duplicate' };
    if (row.reply_to_id !== null && row.reply_to === null) return { kind: 'bad-reply' };
    return { kind: 'members-changed' };
  });
}

/** A uuid[] as the driver hands it: parsed, or in PostgreSQL's text form. */
function uuidArray(value: string[] | string | null): string[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value;
  return value
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter(Boolean);
}

export async function findMessageByClientId(tx: Executor, conversationId: string, senderId: string, clientId: string) {
  const [row] = await tx
    .select(messageColumns)
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        eq(messages.senderId, senderId),
        eq(messages.clientId, clientId),
      ),
    );
  return row;
}

/**
 * Up to `limit` messages in ascending seq: the newest before `beforeSeq` (or the newest of all),
 * or with `afterSeq` the oldest after it (`hasMore` then says whether newer ones follow).
 */
export async function listMessages(
  db: Executor,
  conversationId: string,
  beforeSeq: number | undefined,
  limit: number,
  afterSeq?: number,
) {
  const range = and(
    eq(messages.conversationId, conversationId),
    beforeSeq ? lt(messages.seq, beforeSeq) : undefined,
    afterSeq !== undefined ? gt(messages.seq, afterSeq) : undefined,
  );
  const forward = afterSeq !== undefined;
  const rows = await db
    .select(messageColumns)
    .from(messages)
    .where(range)
    .orderBy(forward ? asc(messages.seq) : desc(messages.seq))
    .limit(limit + 1);
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  return { items: forward ? page : page.reverse(), hasMore };
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
