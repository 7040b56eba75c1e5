import {
  addReaction,
  lockMessage,
  memberIds,
  removeReaction,
  setMessageBody,
  tombstoneMessage,
  type Db,
  type MessageRow,
  type Tx,
} from '@parley/db';
import type { EventLog } from '../events/event-log.js';
import type { Message } from '../presenters.js';
import { presentMessage } from './message-view.js';
import { BadRequest, Conflict, Forbidden, NotFound } from '../errors.js';

/** Different emoji one message may carry: enough for any real reply, bounded for every reader. */
export const MAX_DISTINCT_REACTIONS = 20;

const messageNotFound = () => new NotFound('Message not found.');

/**
 * Edits, deletes and reactions. Each runs in one transaction that locks the message row (changes
 * of one message take turns), checks the rules, writes, and appends one `message.updated` event
 * carrying the message as it now is; a change that changes nothing appends nothing.
 */
export class MessageChangeService {
  /**
   * Called inside the delete's transaction with the message id, before its row becomes a
   * tombstone; answers a function to run after commit (erasing stored bytes). The attachments
   * feature plugs in here.
   */
  onDelete: ((tx: Tx, messageId: string) => Promise<(() => Promise<void>) | void>) | null = null;

  constructor(private readonly deps: { db: Db; events: EventLog }) {}

  /** The sender only; not a deleted message. Sets editedAt (unless the body is the same). */
  edit(userId: string, messageId: string, body: string): Promise<Message> {
    return this.change(userId, messageId, async (tx, row) => {
      this.mustBeSender(row, userId, 'edit');
      if (row.deletedAt !== null) throw deleted();
      if (row.body === body) return null;
      return setMessageBody(tx, messageId, body);
    });
  }

  /** The sender only; for everyone: the content goes, the row stays with its seq. */
  async delete(userId: string, messageId: string): Promise<{ ok: true }> {
    const afterCommit: (() => Promise<void>)[] = [];
    await this.change(userId, messageId, async (tx, row) => {
      this.mustBeSender(row, userId, 'delete');
      if (row.deletedAt !== null) return null; // already gone: deleting again changes nothing
      const after = await this.onDelete?.(tx, messageId);
      if (after) afterCommit.push(after);
      return tombstoneMessage(tx, messageId);
    });
    for (const run of afterCommit) await run();
    return { ok: true };
  }

  /** Members only; idempotent; at most MAX_DISTINCT_REACTIONS different emoji per message. */
  react(userId: string, messageId: string, emoji: string): Promise<Message> {
    return this.change(userId, messageId, async (tx, row) => {
      if (row.deletedAt !== null) throw deleted();
      const outcome = await addReaction(tx, messageId, userId, emoji, MAX_DISTINCT_REACTIONS);
      if (outcome === 'too-many') {
        throw new BadRequest(`A message can carry at most ${MAX_DISTINCT_REACTIONS} different reactions.`);
      }
      return outcome === 'added' ? row : null;
    });
  }

  /** Members only; removing a reaction that is not there changes nothing. */
  unreact(userId: string, messageId: string, emoji: string): Promise<Message> {
    return this.change(userId, messageId, async (tx, row) =>
      (await removeReaction(tx, messageId, userId, emoji)) ? row : null,
    );
  }

  private mustBeSender(row: MessageRow, userId: string, what: 'edit' | 'delete') {
    if (row.senderId !== userId) {
      throw new Forbidden(`Only the sender can ${what} this message.`);
    }
  }

  /**
   * Runs `apply` with the message locked, after checking that the caller is a member (else
   * NOT_FOUND, as for a message that does not exist). `apply` answers the changed row, or null
   * when nothing changed; the message is then answered as it now is, and if it changed, every
   * member gets it in a `message.updated` event.
   */
  private async change(
    userId: string,
    messageId: string,
    apply: (tx: Tx, row: MessageRow) => Promise<MessageRow | null>,
  ): Promise<Message> {
    return this.deps.events.transaction(async (tx) => {
      const locked = await lockMessage(tx, messageId, userId);
      if (!locked?.isMember) throw messageNotFound();
      const changed = await apply(tx, locked.message);
      const message = await presentMessage(tx, changed ?? locked.message);
      if (changed) {
        const recipients = await memberIds(tx, message.conversationId);
        await this.deps.events.emit(tx, recipients, { type: 'message.updated', message });
      }
      return message;
    });
  }
}

const deleted = () => new Conflict('This message was deleted.');
