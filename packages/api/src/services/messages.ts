import { randomUUID } from 'node:crypto';
import { tracked, TRPCError } from '@trpc/server';
import {
  advanceReadSeq,
  appendEvent,
  claimAttachments,
  releaseAttachments,
  eventsForUserAfter,
  findConversationForMember,
  findMessageByClientId,
  isUniqueViolation,
  listMessages,
  memberIds,
  type Db,
  type StoreResult,
} from '@parley/db';
import type { EphemeralHub } from '../events/ephemeral.js';
import type { EventLog, LoggedEvent } from '../events/event-log.js';
import { SubscriptionQueue } from '../events/queue.js';
import { toAttachment, type Conversation, type Message } from '../presenters.js';
import { MessageStore } from './message-store.js';
import { presentMessage, presentMessages } from './message-view.js';
import { notFound, type ConversationService, type ConversationUpdated } from './conversations.js';
import type { CallLogged } from './calls.js';
import type { BlockRules } from './blocks.js';

export type MessageNew = { type: 'message.new'; message: Message };
/** An edit, a delete or a reaction: the whole message as it now is. */
export type MessageUpdated = { type: 'message.updated'; message: Message };
export type MessageRead = { type: 'message.read'; conversationId: string; userId: string; seq: number };
/** `at`: when the server relayed it, on the clock that stamps messages' createdAt (a client ignores typing older than the typist's last message). */
export type Typing = { type: 'typing'; conversationId: string; userId: string; at: string };
/**
 * The first event of a stream that starts without `lastEventId`. Its id is the position the
 * stream starts from, so that a reconnect before any other event resumes from there instead of
 * starting afresh and skipping what happened while disconnected.
 */
export type Ready = { type: 'ready' };
type StoredEvent = MessageNew | MessageUpdated | MessageRead | ConversationUpdated | CallLogged;
/** What `messages.onEvent` yields, after per-viewer projection. */
export type UserEvent =
  | MessageNew
  | MessageUpdated
  | MessageRead
  | { type: 'conversation.updated'; conversation: Conversation }
  | CallLogged
  | Ready;

const REPLAY_PAGE = 500;

/** Optional observers (metrics); the service works the same without them. */
export interface MessageHooks {
  sent?(message: Message): void;
  delivered?(message: Message): void;
  subscriptions?(delta: 1 | -1): void;
}

export class MessageService {
  hooks: MessageHooks = {};
  /** Blocking's rules (set by createServices): a blocked sender's direct chat is as good as missing. */
  blockRules: BlockRules | null = null;
  /** After commit, once per stored message, on the instance that stored it (push notifications). */
  onStored: ((message: Message) => void) | null = null;
  private readonly store: MessageStore;

  constructor(
    private readonly deps: {
      db: Db;
      events: EventLog;
      typing: EphemeralHub<Typing>;
      conversations: ConversationService;
    },
  ) {
    this.store = new MessageStore(deps.db);
  }

  /**
   * Stores a message with the next seq, exactly once per clientId, and answers only after commit.
   * One statement stores it with whatever else is being sent (MessageStore); a retry racing the
   * original loses on the unique index and answers the original.
   */
  async send(
    senderId: string,
    input: {
      conversationId: string;
      clientId: string;
      body: string;
      replyToId?: string | undefined;
      attachmentIds?: string[] | undefined;
    },
  ): Promise<Message> {
    await this.blockRules?.guardDirect(senderId, input.conversationId);
    const id = randomUUID();
    const attachmentIds = input.attachmentIds ?? [];
    // The files are claimed for this message id first (all or none), so two sends cannot both
    // carry one; a send that then stores nothing gives them back.
    let claimed: Message['attachments'] = [];
    if (attachmentIds.length > 0) {
      const rows = await claimAttachments(this.deps.db, attachmentIds, {
        uploaderId: senderId,
        conversationId: input.conversationId,
        messageId: id,
      });
      if (!rows) {
        // A retry of a send that already carried them answers the original.
        const existing = await findMessageByClientId(this.deps.db, input.conversationId, senderId, input.clientId);
        if (existing) return presentMessage(this.deps.db, existing);
        throw new TRPCError({
          code: 'NOT_FOUND',
          message: 'A file was not found: not uploaded by you to this conversation, not finished uploading, or already sent.',
        });
      }
      // In upload order, as messages.list answers them.
      const ordered = [...rows].sort((a, b) => +new Date(a.createdAt) - +new Date(b.createdAt) || a.id.localeCompare(b.id));
      claimed = ordered.map(toAttachment);
    }
    const message = {
      id,
      conversationId: input.conversationId,
      senderId,
      clientId: input.clientId,
      body: input.body,
      createdAt: new Date().toISOString(),
      replyToId: input.replyToId ?? null,
      // Carried into the stored message.new event as they are.
      attachments: claimed,
    };
    for (let attempt = 0; ; attempt++) {
      let stored: StoreResult;
      try {
        stored = await this.store.store(message);
      } catch (err) {
        if (!isUniqueViolation(err, 'messages_sender_client_key')) {
          if (claimed.length > 0) await releaseAttachments(this.deps.db, id);
          throw err;
        }
        stored = { kind: 'duplicate' };
      }
      if (stored.kind === 'duplicate' || stored.kind === 'not-member' || stored.kind === 'bad-reply') {
        if (claimed.length > 0) await releaseAttachments(this.deps.db, id);
      }
      switch (stored.kind) {
        case 'stored': {
          const { replyToId: _r, ...fields } = message;
          const sent: Message = {
            ...fields,
            seq: stored.seq,
            editedAt: null,
            deletedAt: null,
            replyTo: stored.replyTo,
            reactions: [],
          };
          const payload: MessageNew = { type: 'message.new', message: sent };
          this.deps.events.published({ id: stored.eventId, recipients: stored.recipients, payload });
          this.hooks.sent?.(sent);
          this.onStored?.(sent);
          return sent;
        }
        case 'duplicate': {
          const existing = await findMessageByClientId(this.deps.db, input.conversationId, senderId, input.clientId);
          if (existing) return presentMessage(this.deps.db, existing);
          throw notFound();
        }
        case 'not-member':
          throw notFound();
        case 'bad-reply':
          throw new TRPCError({ code: 'NOT_FOUND', message: 'The message you reply to is not in this conversation.' });
        case 'members-changed':
          // Members joined or left while this waited: store it against the new member list.
          if (attempt < 10) continue;
          if (claimed.length > 0) await releaseAttachments(this.deps.db, id);
          throw new TRPCError({ code: 'CONFLICT', message: 'The conversation is changing; please send again.' });
      }
    }
  }

  async list(
    userId: string,
    input: { conversationId: string; beforeSeq?: number | undefined; afterSeq?: number | undefined; limit: number },
  ) {
    if (!(await findConversationForMember(this.deps.db, input.conversationId, userId))) throw notFound();
    const page = await listMessages(this.deps.db, input.conversationId, input.beforeSeq, input.limit, input.afterSeq);
    return { items: await presentMessages(this.deps.db, page.items), hasMore: page.hasMore };
  }

  async markRead(userId: string, conversationId: string, seq: number) {
    const result = await this.deps.db.transaction(async (tx) => {
      const before = await findConversationForMember(tx, conversationId, userId);
      if (!before) throw notFound();
      const lastReadSeq = (await advanceReadSeq(tx, conversationId, userId, seq)) ?? before.lastReadSeq;
      if (lastReadSeq <= before.lastReadSeq) return { lastReadSeq, event: null };
      const recipients = await memberIds(tx, conversationId);
      const payload: MessageRead = { type: 'message.read', conversationId, userId, seq: lastReadSeq };
      return { lastReadSeq, event: { id: await appendEvent(tx, recipients, payload), recipients, payload } };
    });
    if (result.event) this.deps.events.published(result.event);
    return { lastReadSeq: result.lastReadSeq };
  }

  async typing(userId: string, conversationId: string) {
    await this.blockRules?.guardDirect(userId, conversationId);
    if (!(await findConversationForMember(this.deps.db, conversationId, userId))) throw notFound();
    const others = (await memberIds(this.deps.db, conversationId)).filter((id) => id !== userId);
    this.deps.typing.send(others, { type: 'typing', conversationId, userId, at: new Date().toISOString() });
    return { ok: true as const };
  }

  /**
   * The user's event stream. Listens to the live log first, then replays what the client missed
   * from PostgreSQL, then goes on with live events, skipping any id already yielded: the other
   * order would lose what arrives in between.
   */
  async *events(userId: string, lastEventId: string | null | undefined, signal: AbortSignal | undefined) {
    type Item = { logged: LoggedEvent } | { typing: Typing };
    const queue = new SubscriptionQueue<Item>(signal);
    const stopLive = this.deps.events.listen(userId, (logged) => queue.push({ logged }));
    const stopTyping = this.deps.typing.listen(userId, (typing) => queue.push({ typing }));
    this.hooks.subscriptions?.(1);
    try {
      let last = lastEventId ? Number(lastEventId) : this.deps.events.position;
      if (lastEventId) {
        for (;;) {
          const rows = await eventsForUserAfter(this.deps.db, userId, last, REPLAY_PAGE);
          for (const row of rows) {
            last = row.id;
            yield tracked(String(row.id), await this.project(row.payload as StoredEvent, userId));
          }
          if (rows.length < REPLAY_PAGE || signal?.aborted) break;
        }
      } else yield tracked(String(last), { type: 'ready' } satisfies UserEvent);
      for await (const item of queue.drain()) {
        if ('typing' in item) {
          yield item.typing;
          continue;
        }
        if (item.logged.id <= last) continue;
        last = item.logged.id;
        yield tracked(String(item.logged.id), await this.project(item.logged.payload as StoredEvent, userId));
      }
    } finally {
      this.hooks.subscriptions?.(-1);
      stopLive();
      stopTyping();
    }
  }

  private async project(event: StoredEvent, viewerId: string): Promise<UserEvent> {
    if (event.type === 'message.new') this.hooks.delivered?.(event.message);
    if (event.type !== 'conversation.updated') return event;
    const [conversation] = await this.deps.conversations.project([event.conversation], viewerId);
    return { type: 'conversation.updated', conversation: conversation! };
  }
}
