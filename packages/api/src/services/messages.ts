import { randomUUID } from 'node:crypto';
import {
  advanceReadSeq,
  claimAttachments,
  releaseAttachments,
  findConversationForMember,
  findMessageByClientId,
  isUniqueViolation,
  listMessages,
  memberIds,
  type Db,
  type StoreResult,
  listGroupChanges,
} from '@parley/db';
import {
  decodeCursor,
  encodeCursor,
  type Message,
  type MessageNew,
  type StoredEvent,
  type Typing,
  type UserEvent,
} from '@parley/protocol';
import { Conflict, NotFound } from '../errors.js';
import type { EphemeralHub } from '../events/ephemeral.js';
import type { EventLog, LoggedEvent } from '../events/event-log.js';
import { LiveStream } from '../events/live-stream.js';
import type { Logger } from '../logger.js';
import { toAttachment, toGroupChange } from '../presenters.js';
import { MessageStore } from './message-store.js';
import { presentMessage, presentMessages } from './message-view.js';
import { notFound, type ConversationService } from './conversations.js';
import { youBlocked, type BlockRules } from './blocks.js';

/** One item of a user's stream: a logged event with its id, or an ephemeral one (id null). */
export type StreamItem = { id: string; event: Exclude<UserEvent, Typing> } | { id: null; event: Typing };

/** The one place a `message.new` is built: what is stored, published and replayed. */
export const messageNew = (message: Message): MessageNew => ({ type: 'message.new', message });

const REPLAY_PAGE = 500;
/** Groups change rarely; a page holds at most this many timeline entries. */
const MAX_CHANGES_PER_PAGE = 200;

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
  /** After commit, once per stored message, on the instance that stored it, with the members it was stored for (push notifications). */
  onStored: ((message: Message, recipients: string[]) => void) | null = null;
  private readonly store: MessageStore;
  private readonly senderOrder = new SenderOrder();

  constructor(
    private readonly deps: {
      db: Db;
      events: EventLog;
      typing: EphemeralHub<Typing>;
      conversations: ConversationService;
      logger: Logger;
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
    // Taken on arrival, before the first await: the checks below take varying times, and a
    // sender's sends must still reach the store in the order they arrived.
    const turn = this.senderOrder.enter(senderId);
    try {
      return await this.sendInTurn(senderId, input, turn.ready, turn.done);
    } finally {
      turn.done();
    }
  }

  private async sendInTurn(
    senderId: string,
    input: Parameters<MessageService['send']>[1],
    ready: Promise<void>,
    queued: () => void,
  ): Promise<Message> {
    const id = randomUUID();
    const attachmentIds = input.attachmentIds ?? [];
    // The store's statement checks blocks itself (no round trip of its own per send); files are
    // claimed first, so a send that carries some is refused before it claims them.
    if (attachmentIds.length > 0) await this.blockRules?.guardDirect(senderId, input.conversationId);
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
        throw new NotFound(
          'A file was not found: not uploaded by you to this conversation, not finished uploading, or already sent.',
        );
      }
      // In upload order, as messages.list answers them.
      const ordered = [...rows].sort(
        (a, b) => +new Date(a.createdAt) - +new Date(b.createdAt) || a.id.localeCompare(b.id),
      );
      claimed = ordered.map(toAttachment);
    }
    const { conversationId, clientId, body } = input;
    const createdAt = new Date().toISOString();
    // The message as it is sent (the claimed files carried into its event as they are), built
    // here once, literally: copying it with spread and rest was 4 % of the main thread's busy time.
    const fresh = {
      id,
      conversationId,
      senderId,
      clientId,
      body,
      createdAt,
      attachments: claimed,
      editedAt: null,
      deletedAt: null,
      reactions: [],
    };
    // The statement fills in the seq and the quoted message (see storeMessages).
    const event = messageNew({ ...fresh, seq: 0, replyTo: null });
    const replyToId = input.replyToId ?? null;
    const partition = this.deps.events.partitionOf(event);
    await ready;
    for (let attempt = 0; ; attempt++) {
      let stored: StoreResult;
      try {
        const storing = this.store.store({
          id,
          conversationId,
          senderId,
          clientId,
          body,
          createdAt,
          replyToId,
          event,
          partition,
        });
        // In the store's queue now, in arrival order: the sender's next send may follow.
        queued();
        stored = await storing;
      } catch (err) {
        if (!isUniqueViolation(err, 'messages_sender_client_key')) {
          if (claimed.length > 0) await releaseAttachments(this.deps.db, id);
          throw err;
        }
        stored = { kind: 'duplicate' };
      }
      if (
        stored.kind === 'duplicate' ||
        stored.kind === 'not-member' ||
        stored.kind === 'blocked' ||
        stored.kind === 'bad-reply'
      ) {
        if (claimed.length > 0) await releaseAttachments(this.deps.db, id);
      }
      switch (stored.kind) {
        case 'stored': {
          const sent: Message = { ...fresh, seq: stored.seq, replyTo: stored.replyTo };
          const { partition, eventId: id, recipients } = stored;
          this.deps.events.published({ partition, id, recipients, event: messageNew(sent) });
          this.hooks.sent?.(sent);
          this.onStored?.(sent, recipients);
          return sent;
        }
        case 'duplicate': {
          const existing = await findMessageByClientId(this.deps.db, input.conversationId, senderId, input.clientId);
          if (existing) return presentMessage(this.deps.db, existing);
          throw notFound();
        }
        case 'not-member':
          throw notFound();
        case 'blocked':
          // As guardDirect answers (BlockRules): blocked by the other, the chat looks missing.
          if (stored.by === 'other') throw notFound();
          throw youBlocked();
        case 'bad-reply':
          throw new NotFound('The message you reply to is not in this conversation.');
        case 'members-changed':
          // Members joined or left while this waited: store it against the new member list.
          if (attempt < 10) continue;
          if (claimed.length > 0) await releaseAttachments(this.deps.db, id);
          throw new Conflict('The conversation is changing; please send again.');
      }
    }
  }

  async list(
    userId: string,
    input: { conversationId: string; beforeSeq?: number | undefined; afterSeq?: number | undefined; limit: number },
  ) {
    if (!(await findConversationForMember(this.deps.db, input.conversationId, userId))) throw notFound();
    const page = await listMessages(this.deps.db, input.conversationId, input.beforeSeq, input.limit, input.afterSeq);
    // The group's timeline entries that sit among these messages: an entry after message k goes
    // with the page that holds k; those before the first message with the oldest page, those
    // after the last with the newest.
    const forward = input.afterSeq !== undefined;
    const oldest = forward ? input.afterSeq! < 1 : !page.hasMore;
    const newest = forward ? !page.hasMore : input.beforeSeq === undefined;
    const first = page.items[0]?.seq ?? (forward ? input.afterSeq! + 1 : null);
    const last = page.items.at(-1)?.seq ?? (input.beforeSeq !== undefined ? input.beforeSeq - 1 : null);
    const changes = await listGroupChanges(
      this.deps.db,
      input.conversationId,
      oldest ? null : first,
      newest ? null : last,
      MAX_CHANGES_PER_PAGE,
    );
    return {
      items: await presentMessages(this.deps.db, page.items),
      hasMore: page.hasMore,
      groupChanges: changes.map(toGroupChange),
    };
  }

  async markRead(userId: string, conversationId: string, seq: number) {
    return this.deps.events.transaction(async (tx) => {
      const before = await findConversationForMember(tx, conversationId, userId);
      if (!before) throw notFound();
      const lastReadSeq = (await advanceReadSeq(tx, conversationId, userId, seq)) ?? before.lastReadSeq;
      if (lastReadSeq > before.lastReadSeq) {
        const recipients = await memberIds(tx, conversationId);
        await this.deps.events.emit(tx, recipients, { type: 'message.read', conversationId, userId, seq: lastReadSeq });
      }
      return { lastReadSeq };
    });
  }

  async typing(userId: string, conversationId: string) {
    await this.blockRules?.guardDirect(userId, conversationId);
    if (!(await findConversationForMember(this.deps.db, conversationId, userId))) throw notFound();
    const others = (await memberIds(this.deps.db, conversationId)).filter((id) => id !== userId);
    this.deps.typing.send(others, { type: 'typing', conversationId, userId, at: new Date().toISOString() });
    return { ok: true as const };
  }

  /**
   * The user's event stream (the router wraps logged ones in `tracked`, with the cursor: every
   * partition's position). Listens to the live log first, then replays what the client missed
   * from PostgreSQL, then goes on with live events, skipping any id already yielded: the other
   * order would lose what arrives in between. A cursor it cannot resume from (another version's,
   * another log shape's, or older than retention kept) is answered with `resync`.
   */
  events(userId: string, lastEventId: string | null | undefined): AsyncIterableIterator<StreamItem> {
    type Item = { logged: LoggedEvent } | { typing: Typing } | { gap: { partition: number; head: number } };
    const log = this.deps.events;
    // Everything up to here is committed: a replay reads all of it, live brings what follows.
    const position = { last: log.positions };
    const stream: LiveStream<Item, StreamItem> = new LiveStream({
      capacity: 10_000,
      catchUp: this.catchUp(userId, lastEventId, position, () => stream.closed),
      step: (item) => {
        const last = position.last;
        if ('typing' in item) return { id: null, event: item.typing };
        if ('gap' in item) {
          last[item.gap.partition] = Math.max(last[item.gap.partition]!, item.gap.head);
          return { id: encodeCursor(last), event: { type: 'resync' } };
        }
        const { partition, id, event } = item.logged;
        if (id <= last[partition]!) return undefined;
        last[partition] = id;
        const cursor = encodeCursor(last);
        // A promise only when it is a read: the live path is every delivery.
        const projected = this.project(event, userId);
        return projected instanceof Promise
          ? projected.then((read) => ({ id: cursor, event: read }))
          : { id: cursor, event: projected };
      },
      end: () => {
        this.hooks.subscriptions?.(-1);
        stopLive();
        stopTyping();
        stopGaps();
      },
    });
    const stopLive = log.listen(userId, (logged) => stream.push({ logged }));
    const stopTyping = this.deps.typing.listen(userId, (typing) => stream.push({ typing }));
    const stopGaps = log.onGap((partition, head) => stream.push({ gap: { partition, head } }));
    this.hooks.subscriptions?.(1);
    return stream;
  }

  /**
   * The start of `events`: `ready` for a new stream; else what the client missed since its cursor,
   * replayed from PostgreSQL, then `ready` (or `resync` if it cannot resume). Leaves in
   * `position.last` the positions live events are compared with.
   */
  private async *catchUp(
    userId: string,
    lastEventId: string | null | undefined,
    position: { last: number[] },
    closed: () => boolean,
  ): AsyncGenerator<StreamItem, void> {
    const log = this.deps.events;
    const start = position.last;
    const resumed = lastEventId ? decodeCursor(lastEventId) : null;
    if (!lastEventId) {
      yield { id: encodeCursor(start), event: { type: 'ready' } };
      return;
    }
    if (!resumed || resumed.length !== start.length) {
      yield { id: encodeCursor(start), event: { type: 'resync' } };
      return;
    }
    let last = resumed;
    position.last = last;
    let complete = true;
    for (;;) {
      const from = [...last];
      const rows = await log.replay(userId, from, REPLAY_PAGE);
      // Read after the page: a deletion that raced it shows here.
      const horizon = await log.horizon();
      if (horizon.some((h, p) => h > from[p]!)) {
        complete = false;
        break;
      }
      for (const row of rows) {
        last[row.partition] = row.id;
        if (row.event) yield { id: encodeCursor(last), event: await this.project(row.event, userId) };
      }
      if (rows.length < REPLAY_PAGE || closed()) break;
    }
    const before = encodeCursor(last);
    last = last.map((p, i) => Math.max(p, start[i]!));
    position.last = last;
    // Resync: the client reloads its state and follows on from here. Else, after a replay, the
    // positions of partitions without events for this user move up to the start, so that an old
    // cursor does not linger (and fall behind retention) while nothing happens.
    if (!complete) yield { id: encodeCursor(last), event: { type: 'resync' } };
    else if (encodeCursor(last) !== before) yield { id: encodeCursor(last), event: { type: 'ready' } };
  }

  /**
   * A stored event as this viewer receives it: as it is, at once, but conversation.updated, which
   * carries the viewer's own fields (a read). Not async for the rest: every delivery passes here.
   */
  private project(
    event: StoredEvent,
    viewerId: string,
  ): Exclude<UserEvent, Typing> | Promise<Exclude<UserEvent, Typing>> {
    if (event.type === 'message.new') this.hooks.delivered?.(event.message);
    if (event.type !== 'conversation.updated') return event;
    return this.deps.conversations
      .project([event.conversation], viewerId)
      .then(([conversation]) => ({ type: 'conversation.updated', conversation: conversation! }));
  }
}

/**
 * Each sender's turns, in arrival order: `enter` (synchronously, on arrival) returns `ready`,
 * which resolves once the sender's previous turn called `done` (it reached the store's queue, or
 * failed). Senders do not wait for each other.
 */
class SenderOrder {
  private readonly tails = new Map<string, Promise<void>>();

  enter(senderId: string): { ready: Promise<void>; done: () => void } {
    const ready = this.tails.get(senderId) ?? Promise.resolve();
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const tail = ready.then(() => finished);
    this.tails.set(senderId, tail);
    void tail.then(() => {
      if (this.tails.get(senderId) === tail) this.tails.delete(senderId);
    });
    return { ready, done };
  }
}
