import type { AttachmentRow, GroupChangeRow, MessageDetails, MessageRow, UserRow } from '@parley/db';
import type {
  Attachment,
  Conversation,
  ConversationSnapshot,
  GroupChange,
  Message,
  PublicUser,
  Reaction,
  ReplyTo,
} from '@parley/protocol';

export type {
  Attachment,
  Conversation,
  ConversationSnapshot,
  Message,
  PublicUser,
  Reaction,
  ReplyTo,
} from '@parley/protocol';

/** Timestamps leave the API as ISO-8601 UTC, whatever text form the driver returned. */
export const iso = (value: string | Date) => new Date(value).toISOString();
export const isoOrNull = (value: string | Date | null) => (value === null ? null : iso(value));

/** The caller's own account: the only shape that carries an email. */
export function toUser(row: UserRow) {
  return {
    id: row.id,
    email: row.email,
    displayName: row.displayName,
    createdAt: iso(row.createdAt),
    emailVerified: row.emailVerifiedAt !== null,
    about: row.about,
    totpEnabled: row.totpSecret !== null,
    avatarUrl: avatarUrl(row.avatarAttachmentId),
  };
}
export type User = ReturnType<typeof toUser>;

/** A profile picture is its upload's thumbnail; any signed-in user may load it. */
const avatarUrl = (attachmentId: string | null | undefined) =>
  attachmentId ? `/files/${attachmentId}/thumbnail` : null;

export function toPublicUser(
  row: Pick<UserRow, 'id' | 'displayName' | 'lastSeenAt' | 'about'> & { avatarAttachmentId?: string | null },
  online: boolean,
): PublicUser {
  return {
    id: row.id,
    displayName: row.displayName,
    about: row.about,
    online,
    lastSeenAt: isoOrNull(row.lastSeenAt),
    avatarUrl: avatarUrl(row.avatarAttachmentId),
  };
}

/** Download paths on this server (cookie or bearer); `attachments.signedUrl` gives ones that need neither. */
export const fileUrl = (id: string) => `/files/${id}`;
export const thumbnailUrl = (id: string) => `/files/${id}/thumbnail`;

export function toAttachment(row: AttachmentRow): Attachment {
  return {
    id: row.id,
    name: row.name,
    size: row.size,
    contentType: row.contentType ?? 'application/octet-stream',
    kind: row.kind ?? 'file',
    width: row.width,
    height: row.height,
    durationMs: row.durationMs,
    url: fileUrl(row.id),
    thumbnailUrl: row.thumbnailKey ? thumbnailUrl(row.id) : null,
  };
}

/** `details` from messageDetails (services/message-view.ts loads them for a page of rows). */
export function toMessage(row: MessageRow, details: MessageDetails): Message {
  return {
    id: row.id,
    conversationId: row.conversationId,
    senderId: row.senderId,
    clientId: row.clientId,
    seq: row.seq,
    body: row.body,
    createdAt: iso(row.createdAt),
    editedAt: isoOrNull(row.editedAt),
    deletedAt: isoOrNull(row.deletedAt),
    replyTo: details.replyTo satisfies ReplyTo | null as ReplyTo | null,
    reactions: details.reactions as Reaction[],
    attachments: details.attachments.map(toAttachment),
  };
}

/** `conversations.mute` with `until: null` ("until I unmute") stores this instant. */
export const MUTED_FOREVER = '9999-12-31T23:59:59.999Z';

/** The viewer's mute as the API shows it: null once it has run out. */
function activeMute(until: string | null) {
  if (until === null) return null;
  const at = iso(until);
  return Date.parse(at) > Date.now() ? at : null;
}

/**
 * A snapshot as one viewer sees it: their unread count, read position and mute; who is online.
 * `hidden`: members who blocked the viewer; their last sighting is not shown to them.
 */
export function toConversation(
  snapshot: ConversationSnapshot,
  viewerId: string,
  online: Set<string>,
  hidden?: Set<string>,
): Conversation {
  const me = snapshot.members.find((m) => m.id === viewerId);
  const lastReadSeq = me?.lastReadSeq ?? 0;
  return {
    id: snapshot.id,
    kind: snapshot.kind,
    title: snapshot.title,
    members: snapshot.members.map((m) =>
      toPublicUser(hidden?.has(m.id) ? { ...m, lastSeenAt: null } : m, online.has(m.id)),
    ),
    lastMessage: snapshot.lastMessage,
    unreadCount: me ? Math.max(0, snapshot.lastSeq - lastReadSeq) : 0,
    lastReadSeq,
    // Every member's read position, so that a client restores "Seen" after a reload (the live
    // message.read events only say what changed since it connected).
    memberReads: snapshot.members.map((m) => ({ userId: m.id, lastReadSeq: m.lastReadSeq })),
    updatedAt: snapshot.updatedAt,
    mutedUntil: activeMute(me?.mutedUntil ?? null),
  };
}

export function toGroupChange(row: GroupChangeRow): GroupChange {
  return {
    id: row.id,
    conversationId: row.conversationId,
    kind: row.kind,
    actorId: row.actorId,
    userIds: row.userIds,
    names: row.names,
    title: row.title,
    afterSeq: row.afterSeq,
    createdAt: iso(row.createdAt),
  };
}
