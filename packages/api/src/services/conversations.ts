import { TRPCError } from '@trpc/server';
import {
  addMembers,
  appendEvent,
  countExistingUsers,
  createGroup,
  findConversation,
  findConversationForMember,
  getOrCreateDirect,
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
  type Tx,
} from '@parley/db';
import type { EventLog } from '../events/event-log.js';
import { iso, toConversation, toMessage, type Conversation, type ConversationSnapshot } from '../presenters.js';
import type { BlockRules } from './blocks.js';
import type { Presence } from './presence.js';

export const MAX_GROUP_MEMBERS = 256;
export const notFound = () =>
  new TRPCError({ code: 'NOT_FOUND', message: 'Conversation not found.' });

/** The stored form of `conversation.updated`, projected per viewer on delivery. */
export type ConversationUpdated = { type: 'conversation.updated'; conversation: ConversationSnapshot };

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
    if (otherId === userId) throw new TRPCError({ code: 'BAD_REQUEST', message: 'You cannot open a chat with yourself.' });
    if ((await countExistingUsers(this.deps.db, [otherId])) !== 1 || (await this.blockRules?.isBlockedBy(userId, otherId))) {
      throw new TRPCError({ code: 'NOT_FOUND', message: 'No such user.' });
    }
    const { snapshot, eventId } = await this.deps.db.transaction(async (tx) => {
      const { conversation, created } = await getOrCreateDirect(tx, userId, otherId);
      const snap = await this.snapshotOf(tx, conversation);
      return { snapshot: snap, eventId: created ? await this.announce(tx, snap, []) : null };
    });
    if (eventId !== null) this.published(eventId, snapshot, []);
    return (await this.project([snapshot], userId))[0]!;
  }

  async createGroup(userId: string, title: string, otherIds: string[]): Promise<Conversation> {
    const others = [...new Set(otherIds)].filter((id) => id !== userId);
    if (others.length === 0) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Add at least one other member.' });
    if (others.length > MAX_GROUP_MEMBERS - 1) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Too many members.' });
    if ((await countExistingUsers(this.deps.db, others)) !== others.length) {
      throw new TRPCError({ code: 'NOT_FOUND', message: 'Some of these people do not exist.' });
    }
    return this.mutate(userId, async (tx) => {
      const conversation = await createGroup(tx, title, [userId, ...others]);
      return { conversation, formerMembers: [] };
    });
  }

  async addMembers(userId: string, conversationId: string, userIds: string[]): Promise<Conversation> {
    const wanted = [...new Set(userIds)];
    if ((await countExistingUsers(this.deps.db, wanted)) !== wanted.length) {
      throw new TRPCError({ code: 'NOT_FOUND', message: 'Some of these people do not exist.' });
    }
    return this.mutate(userId, async (tx) => {
      const conversation = await this.lockGroup(tx, conversationId, userId);
      const current = await memberIds(tx, conversationId);
      const fresh = wanted.filter((id) => !current.includes(id));
      if (current.length + fresh.length > MAX_GROUP_MEMBERS) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: `A group has at most ${MAX_GROUP_MEMBERS} members.` });
      }
      await addMembers(tx, conversationId, fresh);
      return { conversation, formerMembers: [] };
    });
  }

  async rename(userId: string, conversationId: string, title: string): Promise<Conversation> {
    return this.mutate(userId, async (tx) => {
      const conversation = await this.lockGroup(tx, conversationId, userId);
      await renameConversation(tx, conversationId, title);
      return { conversation, formerMembers: [] };
    });
  }

  async leave(userId: string, conversationId: string) {
    await this.mutate(userId, async (tx) => {
      const conversation = await this.lockGroup(tx, conversationId, userId);
      await removeMember(tx, conversationId, userId);
      return { conversation, formerMembers: [userId] };
    });
    return { ok: true as const };
  }

  /**
   * Mutes pushes about this conversation for the caller until `until` (MUTED_FOREVER: until they
   * unmute), or unmutes it (null). Only the caller's own devices hear of it: a mute is private.
   */
  async setMute(userId: string, conversationId: string, until: string | null): Promise<Conversation> {
    const { snapshot, eventId } = await this.deps.db.transaction(async (tx) => {
      if (!(await setMemberMute(tx, conversationId, userId, until))) throw notFound();
      const snap = await this.snapshotFor(tx, conversationId, userId);
      const payload: ConversationUpdated = { type: 'conversation.updated', conversation: snap };
      return { snapshot: snap, eventId: await appendEvent(tx, [userId], payload) };
    });
    this.deps.events.published({ id: eventId, recipients: [userId], payload: { type: 'conversation.updated', conversation: snapshot } });
    return (await this.project([snapshot], userId))[0]!;
  }

  /** Runs a membership change and announces the result to every member, past ones included. */
  private async mutate(
    userId: string,
    change: (tx: Tx) => Promise<{ conversation: ConversationRow; formerMembers: string[] }>,
  ): Promise<Conversation> {
    const { snapshot, eventId, formerMembers } = await this.deps.db.transaction(async (tx) => {
      const { conversation, formerMembers: former } = await change(tx);
      // Read the row again: the change may have renamed or touched it.
      const snap = await this.snapshotOf(tx, (await findConversation(tx, conversation.id)) ?? conversation);
      return { snapshot: snap, formerMembers: former, eventId: await this.announce(tx, snap, former) };
    });
    this.published(eventId, snapshot, formerMembers);
    return (await this.project([snapshot], userId))[0]!;
  }

  private async lockGroup(tx: Tx, conversationId: string, userId: string) {
    const conversation = await lockConversation(tx, conversationId);
    if (!conversation || !(await findConversationForMember(tx, conversationId, userId))) throw notFound();
    if (conversation.kind !== 'group') {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'Only group conversations can be changed.' });
    }
    return conversation;
  }

  private announce(tx: Tx, snapshot: ConversationSnapshot, formerMembers: string[]) {
    const payload: ConversationUpdated = { type: 'conversation.updated', conversation: snapshot };
    return appendEvent(tx, this.recipients(snapshot, formerMembers), payload);
  }

  private published(id: number, snapshot: ConversationSnapshot, formerMembers: string[]) {
    const payload: ConversationUpdated = { type: 'conversation.updated', conversation: snapshot };
    this.deps.events.published({ id, recipients: this.recipients(snapshot, formerMembers), payload });
  }

  private recipients(snapshot: ConversationSnapshot, formerMembers: string[]) {
    return [...new Set([...snapshot.members.map((m) => m.id), ...formerMembers])];
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
    const details = await messageDetails(db, rows.flatMap((r) => (r.lastMessage ? [r.lastMessage] : [])));
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
    if (typeof updatedAt === 'string' && updatedAt.length < 64 && typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)) {
      return { updatedAt, id };
    }
  } catch {
    // fall through
  }
  throw new TRPCError({ code: 'BAD_REQUEST', message: 'Invalid cursor.' });
}
