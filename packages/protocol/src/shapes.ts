/**
 * The shapes that travel inside events (API.md "Shapes"). The server's presenters return these
 * types, so what is stored, published and delivered is checked against one definition.
 *
 * Stored events outlive code versions: a field added to a shape that appears inside a logged
 * event (Message, ConversationSnapshot) needs a `.default(...)`, because older log rows lack it.
 */
import { z } from 'zod';

/** The quoted message of a reply, as it was when the reply was sent (excerpt null once deleted). */
export const replyTo = z.object({
  id: z.string(),
  seq: z.number().int(),
  senderId: z.string(),
  excerpt: z.string().nullable(),
});
export type ReplyTo = z.infer<typeof replyTo>;
export const reaction = z.object({ emoji: z.string(), userIds: z.array(z.string()) });
export type Reaction = z.infer<typeof reaction>;

export const attachment = z.object({
  id: z.string(),
  name: z.string(),
  size: z.number(),
  contentType: z.string(),
  kind: z.enum(['image', 'video', 'audio', 'file']),
  width: z.number().nullable(),
  height: z.number().nullable(),
  durationMs: z.number().nullable(),
  url: z.string(),
  thumbnailUrl: z.string().nullable(),
});
export type Attachment = z.infer<typeof attachment>;

export const message = z.object({
  id: z.string(),
  conversationId: z.string(),
  senderId: z.string(),
  clientId: z.string(),
  seq: z.number().int(),
  body: z.string(),
  createdAt: z.string(),
  // Defaults: events logged before messages grew these fields lack them.
  editedAt: z.string().nullable().default(null),
  deletedAt: z.string().nullable().default(null),
  replyTo: replyTo.nullable().default(null),
  reactions: z.array(reaction).default([]),
  attachments: z.array(attachment).default([]),
});
export type Message = z.infer<typeof message>;

export const publicUser = z.object({
  id: z.string(),
  displayName: z.string(),
  about: z.string(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  avatarUrl: z.string().nullable(),
});
export type PublicUser = z.infer<typeof publicUser>;

export const conversationKind = z.enum(['direct', 'group']);

/** A conversation as one viewer sees it (with their unread count and read position). */
export const conversation = z.object({
  id: z.string(),
  kind: conversationKind,
  title: z.string().nullable(),
  members: z.array(publicUser),
  lastMessage: message.nullable(),
  unreadCount: z.number().int(),
  lastReadSeq: z.number().int(),
  /** Every member's read position (a client restores "Seen" after a reload). */
  memberReads: z.array(z.object({ userId: z.string(), lastReadSeq: z.number().int() })),
  updatedAt: z.string(),
  /** The viewer's mute: null when not muted (or it ran out). */
  mutedUntil: z.string().nullable(),
});
export type Conversation = z.infer<typeof conversation>;

/**
 * What every member sees alike: the stored form of `conversation.updated`. The per-viewer fields
 * (unreadCount, lastReadSeq, online) are computed from it on delivery.
 */
export const conversationSnapshot = z.object({
  id: z.string(),
  kind: conversationKind,
  title: z.string().nullable(),
  members: z.array(
    z.object({
      id: z.string(),
      displayName: z.string(),
      lastSeenAt: z.string().nullable(),
      lastReadSeq: z.number().int(),
      /** Absent in events logged before profiles had it. */
      about: z.string().default(''),
      /** Absent in events logged before muting existed. */
      mutedUntil: z.string().nullable().optional(),
      /** Absent in events logged before profile pictures existed. */
      avatarAttachmentId: z.string().nullable().optional(),
    }),
  ),
  lastMessage: message.nullable(),
  lastSeq: z.number().int(),
  updatedAt: z.string(),
});
export type ConversationSnapshot = z.infer<typeof conversationSnapshot>;

/**
 * A group's timeline entry: what happened to it and who did it. `afterSeq` places it among the
 * messages (after message `afterSeq`; 0: before the first); `userIds` are whom it is about
 * (added: the new members; left: who left), `title` the name it got (created, renamed).
 */
export const groupChange = z.object({
  id: z.string(),
  conversationId: z.string(),
  kind: z.enum(['created', 'renamed', 'added', 'left']),
  actorId: z.string(),
  userIds: z.array(z.string()),
  /** userId → display name when it happened (the actor's and userIds'): who left is no member to look up. */
  names: z.record(z.string(), z.string()),
  title: z.string().nullable(),
  afterSeq: z.number().int(),
  createdAt: z.string(),
});
export type GroupChange = z.infer<typeof groupChange>;

export const callParticipant = z.object({ userId: z.string(), joinedAt: z.string(), leftAt: z.string().nullable() });
export const call = z.object({
  id: z.string(),
  conversationId: z.string(),
  kind: conversationKind,
  callerId: z.string(),
  /** Null in a group call: every member is rung. */
  calleeId: z.string().nullable(),
  media: z.enum(['audio', 'video']),
  state: z.enum(['ringing', 'active', 'ended']),
  endReason: z.enum(['declined', 'missed', 'hangup', 'busy', 'failed']).nullable(),
  createdAt: z.string(),
  answeredAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  /** Everyone who is or was in the call, in the order they joined. */
  participants: z.array(callParticipant),
  /** Group calls: members who were in another call when this one started, and were not rung. */
  busyUserIds: z.array(z.string()),
});
export type Call = z.infer<typeof call>;
