import {
  addMembers,
  countExistingUsers,
  createGroup,
  findConversation,
  findConversationForMember,
  findUsersByIds,
  getOrCreateDirect,
  insertGroupChange,
  lastMessageOf,
  listConversationsForMember,
  lockConversation,
  memberIds,
  membersOf,
  messageDetails,
  removeMember,
  renameConversation,
  setMemberMute,
  type ConversationRow,
  type Db,
  type Executor,
  type MessageRow,
  type NewGroupChange,
  type Tx,
} from '@parley/db';
import { BadRequest, NotFound } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import type { Conversation, ConversationSnapshot } from '@parley/protocol';
import { iso, toConversation, toGroupChange, toMessage } from '../presenters.js';
import type { BlockRules } from './blocks.js';
import type { Presence } from './presence.js';

export const MAX_GROUP_MEMBERS = 256;
/** What a change of a group puts in its timeline (who and where are filled in by `mutate`). */
type TimelineChange = Pick<NewGroupChange, 'kind' | 'userIds' | 'title'>;
export const notFound = () => new NotFound('Conversation not found.');

export class ConversationService {
  /** Blocking's rules (set by createServices). */
  blockRules: BlockRules | null = null;
  constructor(private readonly deps: { db: Db; events: EventLog; presence: Presence }) {}

  async list(userId: string, limit: number, cursor: string | null | undefined) {
    const position = cursor ? decodeCursor(cursor) : null;
    const rows = await listConversationsForMember(this.deps.db, userId, limit + 1, position);
    const page = rows.slice(0, limit);
    const snapshots = await this.snapshots(
      this.deps.db,
      page.map((r) => ({ conversation: r.conversation, lastMessage: r.lastMessage })),
    );
    const items = await this.project(snapshots, userId);
    const last = page.at(-1);
    const nextCursor =
      rows.length > limit && last ? encodeCursor(last.conversation.updatedAt, last.conversation.id) : null;
    return { items, nextCursor };
  }

  async byId(userId: string, conversationId: string): Promise<Conversation> {
    const snapshot = await this.snapshotFor(this.deps.db, conversationId, userId);
    const [conversation] = await this.project([snapshot], userId);
    return conversation!;
  }

  async openDirect(userId: string, otherId: string): Promise<Conversation> {
    if (otherId === userId) throw new BadRequest('You cannot open a chat with yourself.');
    if (
      (await countExistingUsers(this.deps.db, [otherId])) !== 1 ||
      (await this.blockRules?.isBlockedBy(userId, otherId))
    ) {
      throw new NotFound('No such user.');
    }
    const snapshot = await this.deps.events.transaction(async (tx) => {
      const { conversation, created } = await getOrCreateDirect(tx, userId, otherId);
      const snap = await this.snapshotOf(tx, conversation);
      if (created) await this.announce(tx, snap, []);
      return snap;
    });
    return (await this.project([snapshot], userId))[0]!;
  }

  async createGroup(userId: string, title: string, otherIds: string[]): Promise<Conversation> {
    const others = [...new Set(otherIds)].filter((id) => id !== userId);
    if (others.length === 0) throw new BadRequest('Add at least one other member.');
    if (others.length > MAX_GROUP_MEMBERS - 1) throw new BadRequest('Too many members.');
    if ((await countExistingUsers(this.deps.db, others)) !== others.length) {
      throw new NotFound('Some of these people do not exist.');
    }
    return this.mutate(userId, async (tx) => {
      const conversation = await createGroup(tx, title, [userId, ...others]);
      return { conversation, formerMembers: [], change: { kind: 'created', userIds: others, title } };
    });
  }

  async addMembers(userId: string, conversationId: string, userIds: string[]): Promise<Conversation> {
    const wanted = [...new Set(userIds)];
    if ((await countExistingUsers(this.deps.db, wanted)) !== wanted.length) {
      throw new NotFound('Some of these people do not exist.');
    }
    return this.mutate(userId, async (tx) => {
      const conversation = await this.lockGroup(tx, conversationId, userId);
      const current = await memberIds(tx, conversationId);
      const fresh = wanted.filter((id) => !current.includes(id));
      if (current.length + fresh.length > MAX_GROUP_MEMBERS) {
        throw new BadRequest(`A group has at most ${MAX_GROUP_MEMBERS} members.`);
      }
      await addMembers(tx, conversationId, fresh);
      return {
        conversation,
        formerMembers: [],
        change: fresh.length > 0 ? { kind: 'added', userIds: fresh, title: null } : null,
      };
    });
  }

  async rename(userId: string, conversationId: string, title: string): Promise<Conversation> {
    return this.mutate(userId, async (tx) => {
      const conversation = await this.lockGroup(tx, conversationId, userId);
      await renameConversation(tx, conversationId, title);
      return { conversation, formerMembers: [], change: { kind: 'renamed', userIds: [], title } };
    });
  }

  async leave(userId: string, conversationId: string) {
    await this.mutate(userId, async (tx) => {
      const conversation = await this.lockGroup(tx, conversationId, userId);
      await removeMember(tx, conversationId, userId);
      return { conversation, formerMembers: [userId], change: { kind: 'left', userIds: [userId], title: null } };
    });
    return { ok: true as const };
  }

  /**
   * Mutes pushes about this conversation for the caller until `until` (MUTED_FOREVER: until they
   * unmute), or unmutes it (null). Only the caller's own devices hear of it: a mute is private.
   */
  async setMute(userId: string, conversationId: string, until: string | null): Promise<Conversation> {
    const snapshot = await this.deps.events.transaction(async (tx) => {
      if (!(await setMemberMute(tx, conversationId, userId, until))) throw notFound();
      const snap = await this.snapshotFor(tx, conversationId, userId);
      await this.deps.events.emit(tx, [userId], { type: 'conversation.updated', conversation: snap });
      return snap;
    });
    return (await this.project([snapshot], userId))[0]!;
  }

  /**
   * Runs a change of a group and announces the result to every member, past ones included; what
   * happened (`change`, by `userId`) goes into the group's timeline, for the members it now has.
   */
  private async mutate(
    userId: string,
    run: (tx: Tx) => Promise<{ conversation: ConversationRow; formerMembers: string[]; change: TimelineChange | null }>,
  ): Promise<Conversation> {
    const snapshot = await this.deps.events.transaction(async (tx) => {
      const { conversation, formerMembers, change } = await run(tx);
      // Read the row again: the change may have renamed or touched it.
      const fresh = (await findConversation(tx, conversation.id)) ?? conversation;
      const snap = await this.snapshotOf(tx, fresh);
      await this.announce(tx, snap, formerMembers);
      if (change) {
        // Placed after the last message: the conversation row is locked, no send slips in between.
        const named = await findUsersByIds(tx, [userId, ...change.userIds]);
        const names = Object.fromEntries(named.map((u) => [u.id, u.displayName]));
        const row = await insertGroupChange(tx, {
          ...change,
          names,
          conversationId: fresh.id,
          actorId: userId,
          afterSeq: fresh.lastSeq,
        });
        const recipients = snap.members.map((m) => m.id);
        await this.deps.events.emit(tx, recipients, { type: 'group.changed', change: toGroupChange(row) });
      }
      return snap;
    });
    return (await this.project([snapshot], userId))[0]!;
  }

  private async lockGroup(tx: Tx, conversationId: string, userId: string) {
    const conversation = await lockConversation(tx, conversationId);
    if (!conversation || !(await findConversationForMember(tx, conversationId, userId))) throw notFound();
    if (conversation.kind !== 'group') {
      throw new BadRequest('Only group conversations can be changed.');
    }
    return conversation;
  }

  /** Tells every member, and those who just left, what the conversation is now. */
  private announce(tx: Tx, snapshot: ConversationSnapshot, formerMembers: string[]) {
    const recipients = [...snapshot.members.map((m) => m.id), ...formerMembers];
    return this.deps.events.emit(tx, recipients, { type: 'conversation.updated', conversation: snapshot });
  }

  /** The snapshot of a conversation the viewer belongs to; NOT_FOUND otherwise. */
  async snapshotFor(db: Executor, conversationId: string, viewerId: string) {
    const row = await findConversationForMember(db, conversationId, viewerId);
    if (!row) throw notFound();
    return this.snapshotOf(db, row.conversation);
  }

  private async snapshotOf(db: Executor, conversation: ConversationRow): Promise<ConversationSnapshot> {
    const lastMessage = (await lastMessageOf(db, conversation.id, conversation.lastSeq)) ?? null;
    const [fresh] = await this.snapshots(db, [{ conversation, lastMessage }]);
    return fresh!;
  }

  private async snapshots(
    db: Executor,
    rows: { conversation: ConversationRow; lastMessage: MessageRow | null }[],
  ): Promise<ConversationSnapshot[]> {
    const all = await membersOf(
      db,
      rows.map((r) => r.conversation.id),
    );
    const details = await messageDetails(
      db,
      rows.flatMap((r) => (r.lastMessage ? [r.lastMessage] : [])),
    );
    return rows.map(({ conversation, lastMessage }) => ({
      id: conversation.id,
      kind: conversation.kind,
      title: conversation.title,
      members: all
        .filter((m) => m.conversationId === conversation.id)
        .map((m) => ({
          id: m.id,
          displayName: m.displayName,
          about: m.about,
          lastSeenAt: m.lastSeenAt === null ? null : iso(m.lastSeenAt),
          lastReadSeq: m.lastReadSeq,
          mutedUntil: m.mutedUntil === null ? null : iso(m.mutedUntil),
          avatarAttachmentId: m.avatarAttachmentId,
        })),
      lastMessage: lastMessage ? toMessage(lastMessage, details.get(lastMessage.id)!) : null,
      lastSeq: conversation.lastSeq,
      updatedAt: iso(conversation.updatedAt),
    }));
  }

  /** Adds the viewer's own fields (unread count, read position) and who is online. */
  async project(snapshots: ConversationSnapshot[], viewerId: string): Promise<Conversation[]> {
    const ids = [...new Set(snapshots.flatMap((s) => s.members.map((m) => m.id)))];
    const online = await this.deps.presence.onlineAmong(ids);
    const hidden = this.blockRules ? await this.blockRules.hiddenFrom(viewerId, ids) : new Set<string>();
    for (const id of hidden) online.delete(id);
    return snapshots.map((s) => toConversation(s, viewerId, online, hidden));
  }
}

function encodeCursor(updatedAt: string, id: string) {
  return Buffer.from(JSON.stringify([updatedAt, id])).toString('base64url');
}

function decodeCursor(cursor: string) {
  try {
    const [updatedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (
      typeof updatedAt === 'string' &&
      updatedAt.length < 64 &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/.test(id)
    ) {
      return { updatedAt, id };
    }
  } catch {
    // fall through
  }
  throw new BadRequest('Invalid cursor.');
}
