import {
  blockersAmong,
  blocksBetween,
  deleteBlock,
  directBlocks,
  findUserById,
  insertBlock,
  listBlocked,
  type Db,
} from '@parley/db';
import type { BlockChanged } from '@parley/protocol';
import type { EphemeralHub } from '../events/ephemeral.js';
import { iso } from '../presenters.js';
import { BadRequest, Forbidden, NotFound } from '../errors.js';

/**
 * What blocking means elsewhere (conversations, messages, calls, presence, users read these).
 * A blocked user is never told: what the blocker hides from them looks like it does not exist.
 */
export interface BlockRules {
  /**
   * Before sending, typing or calling in a conversation: in a direct chat with someone who blocked
   * `userId`, NOT_FOUND (as a missing conversation); with someone `userId` blocked, FORBIDDEN.
   */
  guardDirect(userId: string, conversationId: string): Promise<void>;
  /** Of `ids`, those who blocked `viewerId`: their presence is hidden from the viewer. */
  hiddenFrom(viewerId: string, ids: string[]): Promise<Set<string>>;
  /** True when `otherId` blocked `userId` (then `userId` cannot open a direct chat with them). */
  isBlockedBy(userId: string, otherId: string): Promise<boolean>;
}

/** Sending, typing or calling to someone the caller blocked. */
export const youBlocked = () => new Forbidden('You blocked this person. Unblock them in Settings to write or call.');

export class BlockService implements BlockRules {
  /** `notices`: tells the blocked user's open presence streams, on every instance (see PresenceFeed). */
  constructor(private readonly deps: { db: Db; notices: EphemeralHub<BlockChanged> }) {}

  async block(userId: string, targetId: string) {
    if (targetId === userId) throw new BadRequest('You cannot block yourself.');
    const target = await findUserById(this.deps.db, targetId);
    if (!target || target.deletedAt) throw new NotFound('No such user.');
    await insertBlock(this.deps.db, userId, targetId);
    this.notify(userId, targetId, true);
  }

  async unblock(userId: string, targetId: string) {
    if (!(await findUserById(this.deps.db, targetId))) throw new NotFound('No such user.');
    await deleteBlock(this.deps.db, userId, targetId);
    this.notify(userId, targetId, false);
  }

  /** After the commit: the streams re-read the block, so a notice is never ahead of the database. */
  private notify(blockerId: string, blockedId: string, blocked: boolean) {
    this.deps.notices.send([blockedId], { type: 'block.changed', blockerId, blockedId, blocked });
  }

  /** The people the caller blocked; their presence is not part of it (the caller sees it anyway elsewhere). */
  async list(userId: string) {
    const rows = await listBlocked(this.deps.db, userId);
    return rows.map(({ user, blockedAt }) => ({
      id: user.id,
      displayName: user.displayName,
      blockedAt: iso(blockedAt),
    }));
  }

  async guardDirect(userId: string, conversationId: string) {
    const { blockedMe, iBlocked } = await directBlocks(this.deps.db, conversationId, userId);
    if (blockedMe) throw new NotFound('Conversation not found.');
    if (iBlocked) throw youBlocked();
  }

  hiddenFrom(viewerId: string, ids: string[]) {
    return blockersAmong(this.deps.db, viewerId, ids);
  }

  async isBlockedBy(userId: string, otherId: string) {
    return (await blocksBetween(this.deps.db, userId, otherId)).bBlockedA;
  }
}
