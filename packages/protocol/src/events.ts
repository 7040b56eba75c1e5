/**
 * Every event Parley sends, as zod schemas in discriminated unions; the types are inferred.
 * Server and clients import these; nothing else declares an event type.
 *
 * Three streams:
 * - `messages.onEvent`: the LOGGED events (`storedEvent`, kept in PostgreSQL, replayed on resume),
 *   delivered as `userEvent` (the same, except `conversation.updated`, projected per viewer), plus
 *   the ephemeral `typing` and the stream markers `ready` and `resync`.
 * - `presence.onChange`: `presenceEvent`.
 * - `calls.onEvent`: `callEvent` (ephemeral: not logged).
 *
 * To add a logged event: add its schema to `storedEvent` (and, if it reaches clients unchanged,
 * to `userEvent`), say in `eventScope` which conversation or user orders it, emit it from a
 * service with `events.emit(tx, recipients, event)`, and handle it in `applyEvent`
 * (packages/client). docs/EVENTS.md has the whole recipe.
 */
import { callSignal } from '@parley/validators';
import { z } from 'zod';
import { call, conversation, conversationSnapshot, groupChange, message } from './shapes.js';

export { callSignal };

// ---- messages.onEvent ----
export const messageNew = z.object({ type: z.literal('message.new'), message });
/** An edit, a delete or a reaction: the whole message as it now is. */
export const messageUpdated = z.object({ type: z.literal('message.updated'), message });
export const messageRead = z.object({
  type: z.literal('message.read'),
  conversationId: z.string(),
  userId: z.string(),
  seq: z.number().int(),
});
/** Stored form: the snapshot every member shares. */
export const conversationUpdatedStored = z.object({
  type: z.literal('conversation.updated'),
  conversation: conversationSnapshot,
});
/** Delivered form: the viewer's own projection of the snapshot. */
export const conversationUpdated = z.object({ type: z.literal('conversation.updated'), conversation });
/**
 * `at`: when the server relayed it, on the clock that stamps messages' createdAt (a client ignores
 * typing older than the typist's last message).
 */
export const typing = z.object({
  type: z.literal('typing'),
  conversationId: z.string(),
  userId: z.string(),
  at: z.string(),
});
/**
 * The first event of a stream subscribed without `lastEventId`. Its tracked id is the position the
 * stream starts from, so a socket lost before any other event still resumes without a gap.
 */
export const ready = z.object({ type: z.literal('ready') });
/**
 * The cursor could not be resumed (from an older server version, or older than the retained log):
 * reload the state (conversations, the open thread) and go on from this event's id. Nothing is
 * silently skipped: this event says that something may have been.
 */
export const resync = z.object({ type: z.literal('resync') });

/** A call ended: the conversation's timeline shows it (to every member of the conversation). */
export const callLogged = z.object({ type: z.literal('call.logged'), call });

/**
 * A group was created or renamed, or members were added or left: its timeline's entry (to every
 * member; `messages.list` brings the entries among the messages it returns).
 */
export const groupChanged = z.object({ type: z.literal('group.changed'), change: groupChange });

/** The events of the log of record (what `events.payload` holds). */
export const storedEvent = z.discriminatedUnion('type', [
  messageNew,
  messageUpdated,
  messageRead,
  conversationUpdatedStored,
  callLogged,
  groupChanged,
]);
export type StoredEvent = z.infer<typeof storedEvent>;
export type StoredEventType = StoredEvent['type'];

/** What `messages.onEvent` yields (`tracked(id, event)`, except `typing`). */
export const userEvent = z.discriminatedUnion('type', [
  messageNew,
  messageUpdated,
  messageRead,
  conversationUpdated,
  callLogged,
  groupChanged,
  typing,
  ready,
  resync,
]);
export type UserEvent = z.infer<typeof userEvent>;
/** The events a client applies to its state (`ready` and `resync` are the follower's business). */
export type ParleyEvent = Exclude<UserEvent, { type: 'ready' | 'resync' }>;

export type MessageNew = z.infer<typeof messageNew>;
export type MessageUpdated = z.infer<typeof messageUpdated>;
export type MessageRead = z.infer<typeof messageRead>;
export type CallLogged = z.infer<typeof callLogged>;
export type GroupChanged = z.infer<typeof groupChanged>;
export type ConversationUpdated = z.infer<typeof conversationUpdated>;
export type ConversationUpdatedStored = z.infer<typeof conversationUpdatedStored>;
export type Typing = z.infer<typeof typing>;

/**
 * What orders an event: events of one scope are delivered in the order they were logged (the log
 * partition is chosen from it). Conversation events by conversation; an event about one user only
 * (e.g. their account) by user.
 */
export type EventScope = { conversationId: string } | { userId: string };
export function eventScope(event: StoredEvent): EventScope {
  switch (event.type) {
    case 'message.new':
    case 'message.updated':
      return { conversationId: event.message.conversationId };
    case 'call.logged':
      return { conversationId: event.call.conversationId };
    case 'group.changed':
      return { conversationId: event.change.conversationId };
    case 'message.read':
      return { conversationId: event.conversationId };
    case 'conversation.updated':
      return { conversationId: event.conversation.id };
  }
}

// ---- presence.onChange ----
export const presenceState = z.object({ userId: z.string(), online: z.boolean(), lastSeenAt: z.string().nullable() });
export const presenceSnapshot = z.object({ type: z.literal('snapshot'), users: z.array(presenceState) });
export const presenceUpdate = presenceState.extend({ type: z.literal('update') });
export const presenceEvent = z.discriminatedUnion('type', [presenceSnapshot, presenceUpdate]);
export type PresenceState = z.infer<typeof presenceState>;
export type PresenceSnapshot = z.infer<typeof presenceSnapshot>;
export type PresenceUpdate = z.infer<typeof presenceUpdate>;
export type PresenceEvent = z.infer<typeof presenceEvent>;

// ---- between instances only (never sent to a client) ----
/**
 * `blockerId` blocked (`blocked: true`) or unblocked `blockedId`. Every instance's open
 * `presence.onChange` streams of the blocked user drop the blocker at once (or take them back);
 * nothing reaches the blocked user's client that says so.
 */
export const blockChanged = z.object({
  type: z.literal('block.changed'),
  blockerId: z.string(),
  blockedId: z.string(),
  blocked: z.boolean(),
});
export type BlockChanged = z.infer<typeof blockChanged>;

// ---- calls.onEvent ----
export const callStateEvent = z.object({
  type: z.enum(['call.incoming', 'call.accepted', 'call.declined', 'call.ended']),
  call,
});
/** Someone joined or left a group call (sent to every member of its conversation). */
export const callParticipantEvent = z.object({ type: z.enum(['call.joined', 'call.left']), call, userId: z.string() });
/** A device of `userId` has received the call and rings: the caller's "Calling…" becomes "Ringing…". */
export const callRingingEvent = z.object({ type: z.literal('call.ringing'), callId: z.string(), userId: z.string() });
export const callSignalEvent = z.object({
  type: z.literal('signal'),
  callId: z.string(),
  fromUserId: z.string(),
  signal: callSignal,
});
/** What `calls.onEvent` yields (not logged: a device that subscribes late is told what rings for it). */
export const callEvent = z.discriminatedUnion('type', [
  callStateEvent,
  callParticipantEvent,
  callRingingEvent,
  callSignalEvent,
]);
export type CallStateEvent = z.infer<typeof callStateEvent>;
export type CallParticipantEvent = z.infer<typeof callParticipantEvent>;
export type CallRingingEvent = z.infer<typeof callRingingEvent>;
export type CallSignalEvent = z.infer<typeof callSignalEvent>;
export type CallEvent = z.infer<typeof callEvent>;
