import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  type AnyPgColumn,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** PostgreSQL's tsvector: only ever written by the database (a generated column). */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    displayName: text('display_name').notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'string' }),
    /** Set when the owner followed the link mailed to this address. */
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true, mode: 'string' }),
    about: text('about').notNull().default(''),
    /** The RFC 6238 secret once two-factor sign-in is on; the pending one between setup and enable. */
    totpSecret: text('totp_secret'),
    totpPendingSecret: text('totp_pending_secret'),
    /** The last TOTP time step accepted: a code of that step or an earlier one is never taken again. */
    totpLastStep: bigint('totp_last_step', { mode: 'number' }),
    /** Set when the account was deleted: the row stays so that its messages keep a sender. */
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'string' }),
    /** An `attachments` row of purpose avatar (no foreign key: the two tables point at each other). */
    avatarAttachmentId: uuid('avatar_attachment_id'),
  },
  (t) => [
    // Case-insensitive uniqueness is enforced by the database, so concurrent sign-ups cannot both win.
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    index('users_display_name_lower_idx').on(sql`lower(${t.displayName}) text_pattern_ops`),
    // People search matches any substring of a name (`like '%ann%'`): trigrams make that indexable.
    index('users_display_name_trgm_idx').using('gin', sql`lower(${t.displayName}) gin_trgm_ops`),
  ],
);

export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'string' }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'string' }),
    userAgent: text('user_agent'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/** Every refresh token ever issued, by hash: a used one presented again reveals theft. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'string' }),
  },
  (t) => [index('refresh_tokens_session_idx').on(t.sessionId)],
);

export const conversations = pgTable(
  'conversations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind', { enum: ['direct', 'group'] }).notNull(),
    title: text('title'),
    /** For direct conversations: the two user ids, sorted and joined, so get-or-create is race-free. */
    directKey: text('direct_key'),
    lastSeq: integer('last_seq').notNull().default(0),
    /**
     * Bumped whenever members join or leave: the one-statement send (storeMessages) checks it to
     * know that the member list it read is still the one at the moment it takes the seq.
     */
    memberVersion: integer('member_version').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('conversations_direct_key').on(t.directKey),
    // No index on updated_at: every message moves it, and an indexed column would make each of
    // those updates write every index of the row (no HOT update). Lists start from the member's
    // rows (members_user_idx) and sort that member's conversations.
    check('conversations_kind_check', sql`${t.kind} in ('direct', 'group')`),
  ],
);

export const members = pgTable(
  'conversation_members',
  {
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    lastReadSeq: integer('last_read_seq').notNull().default(0),
    joinedAt: timestamp('joined_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    /** No pushes for this member until then; 'infinity' = until they unmute. */
    mutedUntil: timestamp('muted_until', { withTimezone: true, mode: 'string' }),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.userId] }), index('members_user_idx').on(t.userId)],
);

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    senderId: uuid('sender_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: uuid('client_id').notNull(),
    seq: integer('seq').notNull(),
    body: text('body').notNull(),
    createdAt: createdAt(),
    editedAt: timestamp('edited_at', { withTimezone: true, mode: 'string' }),
    /** A deleted message stays as a tombstone (its seq keeps the sequence dense); its body is ''. */
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'string' }),
    replyToId: uuid('reply_to_id').references((): AnyPgColumn => messages.id, { onDelete: 'set null' }),
    /**
     * Full-text search: English stems (so "meeting" finds "meetings") beside the words as written
     * ('simple': names, other languages and English stop words such as "Will" stay findable).
     * Concatenating keeps each half's positions apart, so phrases match within one half.
     */
    search: tsvector('search')
      .notNull()
      .generatedAlwaysAs(sql`to_tsvector('english'::regconfig, body) || to_tsvector('simple'::regconfig, body)`),
  },
  (t) => [
    uniqueIndex('messages_conversation_seq_key').on(t.conversationId, t.seq),
    uniqueIndex('messages_sender_client_key').on(t.conversationId, t.senderId, t.clientId),
    index('messages_search_idx').using('gin', t.search),
    index('messages_reply_to_idx').on(t.replyToId).where(sql`${t.replyToId} is not null`),
  ],
);

/** One row per (message, user, emoji); a message's reactions are grouped from these. */
export const messageReactions = pgTable(
  'message_reactions',
  {
    messageId: uuid('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    emoji: text('emoji').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.emoji, t.userId] })],
);

/**
 * The log of record for live events, in partitions (`event_partitions`): an event goes to the
 * partition of its conversation (or, for an event about one user, of that user). Within a
 * partition, `id` comes from the partition's counter row, which every writer increments inside
 * its own transaction: the row lock orders writers, so ids are dense and become visible in id
 * order (a sequence would hand out ids before commit, out of order). Writers to different
 * partitions never wait for each other.
 */
export const events = pgTable(
  'events',
  {
    partition: integer('partition').notNull().default(0),
    id: bigint('id', { mode: 'number' }).notNull(),
    recipients: uuid('recipients').array().notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.partition, t.id] }), index('events_recipients_idx').using('gin', t.recipients)],
);

/** One dense counter per partition of the log: the id of its newest event. */
export const eventPartitions = pgTable('event_partitions', {
  partition: integer('partition').primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull().default(0),
});

/**
 * How far retention has deleted each partition: every event with `id <= prunedThrough` is gone.
 * Apart from the counters, so that pruning never takes a lock that a send waits for.
 */
export const eventHorizon = pgTable('event_horizon', {
  partition: integer('partition').primaryKey(),
  prunedThrough: bigint('pruned_through', { mode: 'number' }).notNull().default(0),
});

export const eventClock = pgTable(
  'event_clock',
  {
    id: integer('id').primaryKey(),
    /** The single log's clock before partitions (0007): partition 0 took it over. Unused since. */
    value: bigint('value', { mode: 'number' }).notNull(),
    /**
     * Names this log (and so this deployment): event ids mean something only within one log, so
     * instances keep their Redis channels and keys under it, and two deployments sharing a Redis
     * (or the test suite's servers) never read each other's notifications.
     */
    logId: uuid('log_id').notNull().defaultRandom(),
  },
  (t) => [check('event_clock_single_row', sql`${t.id} = 1`)],
);

export const calls = pgTable(
  'calls',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    callerId: uuid('caller_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The person called, in a direct call; null in a group call (everyone is rung). */
    calleeId: uuid('callee_id').references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['direct', 'group'] })
      .notNull()
      .default('direct'),
    /** Group calls: the members who were in another call when it started (not rung, shown busy). */
    busyUserIds: uuid('busy_user_ids').array().notNull().default(sql`'{}'::uuid[]`),
    media: text('media', { enum: ['audio', 'video'] }).notNull(),
    state: text('state', { enum: ['ringing', 'active', 'ended'] }).notNull(),
    endReason: text('end_reason', { enum: ['declined', 'missed', 'hangup', 'busy', 'failed'] }),
    createdAt: createdAt(),
    answeredAt: timestamp('answered_at', { withTimezone: true, mode: 'string' }),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'string' }),
    ringDeadline: timestamp('ring_deadline', { withTimezone: true, mode: 'string' }).notNull(),
  },
  (t) => [
    index('calls_caller_live_idx').on(t.callerId).where(sql`${t.state} <> 'ended'`),
    index('calls_callee_live_idx').on(t.calleeId).where(sql`${t.state} <> 'ended'`),
    index('calls_ringing_deadline_idx').on(t.ringDeadline).where(sql`${t.state} = 'ringing'`),
    index('calls_conversation_idx').on(t.conversationId),
    check('calls_kind_callee_check', sql`(${t.kind} = 'direct') = (${t.calleeId} is not null)`),
  ],
);

/**
 * What happened to a group, for its timeline: created, renamed, members added, a member left.
 * `afterSeq` is the conversation's last message seq when it happened, which places the entry
 * among the messages (after message `afterSeq`); `userIds` are whom it is about (added, left).
 */
export const groupChanges = pgTable(
  'group_changes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['created', 'renamed', 'added', 'left'] }).notNull(),
    actorId: uuid('actor_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userIds: uuid('user_ids').array().notNull().default(sql`'{}'::uuid[]`),
    /** userId → display name when it happened, for the actor and `userIds` (who left is no member to look up). */
    names: jsonb('names').$type<Record<string, string>>().notNull().default({}),
    /** The title it was given (created, renamed). */
    title: text('title'),
    afterSeq: integer('after_seq').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('group_changes_conversation_idx').on(t.conversationId, t.afterSeq),
    check('group_changes_kind_check', sql`${t.kind} in ('created', 'renamed', 'added', 'left')`),
  ],
);

/**
 * Who is or was in a call, one row per person (a rejoin reopens it). `deviceId` is the session
 * that joined: signals addressed to a participant reach that device only.
 */
export const callParticipants = pgTable(
  'call_participants',
  {
    callId: uuid('call_id')
      .notNull()
      .references(() => calls.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    deviceId: uuid('device_id').notNull(),
    joinedAt: timestamp('joined_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    leftAt: timestamp('left_at', { withTimezone: true, mode: 'string' }),
  },
  (t) => [
    primaryKey({ columns: [t.callId, t.userId] }),
    index('call_participants_user_live_idx').on(t.userId).where(sql`${t.leftAt} is null`),
  ],
);

/**
 * Web Push subscriptions, one per browser (endpoint), owned by the session that registered it:
 * signing out deletes it (and the cascade does when a session row goes). A browser that signs in as
 * someone else re-registers the same endpoint, which then changes hands.
 */
export const pushSubscriptions = pgTable(
  'push_subscriptions',
  {
    endpoint: text('endpoint').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    p256dh: text('p256dh').notNull(),
    auth: text('auth').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('push_subscriptions_user_idx').on(t.userId), index('push_subscriptions_session_idx').on(t.sessionId)],
);

/** Per-user notification preferences; no row = the defaults. */
export const notificationSettings = pgTable('notification_settings', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  showMessageText: boolean('show_message_text').notNull().default(true),
});

/** Single-use tokens sent by mail (verify an address, reset a password); only a SHA-256 of the secret is kept. */
export const emailTokens = pgTable(
  'email_tokens',
  {
    /** The token's public half: the row is found by it, then the secret half is compared in constant time. */
    id: uuid('id').primaryKey().defaultRandom(),
    tokenHash: text('token_hash').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ['verify', 'reset'] }).notNull(),
    /** The address the token was sent to: a verification link only verifies that address. */
    email: text('email').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'string' }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'string' }),
  },
  (t) => [index('email_tokens_user_idx').on(t.userId)],
);

/** Two-factor recovery codes, by SHA-256 hash; each works once. */
export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'string' }),
  },
  (t) => [index('recovery_codes_user_idx').on(t.userId)],
);

/** WebAuthn credentials (passkeys); several per user, each named. */
export const passkeys = pgTable(
  'passkeys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The authenticator's credential id, base64url. */
    credentialId: text('credential_id').notNull(),
    publicKey: text('public_key').notNull(),
    counter: bigint('counter', { mode: 'number' }).notNull().default(0),
    transports: text('transports').array().notNull().default(sql`'{}'::text[]`),
    name: text('name').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'string' }),
  },
  (t) => [uniqueIndex('passkeys_credential_key').on(t.credentialId), index('passkeys_user_idx').on(t.userId)],
);

/** WebAuthn challenges handed out and not yet answered; shared by every instance, used once. */
export const webauthnChallenges = pgTable('webauthn_challenges', {
  challenge: text('challenge').primaryKey(),
  /** Registration: the user adding a passkey; sign-in: null (discoverable credentials). */
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  purpose: text('purpose', { enum: ['register', 'login'] }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'string' }).notNull(),
});

export const blocks = pgTable(
  'blocks',
  {
    blockerId: uuid('blocker_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    blockedId: uuid('blocked_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index('blocks_blocked_idx').on(t.blockedId)],
);

/**
 * An uploaded file. Created `pending` by attachments.createUpload, `ready` once its bytes are
 * stored and checked; `message_id` is set when a message names it (it has no foreign key: the
 * claim is taken just before the message row is written, see MessageService.send), and avatars
 * have no conversation. Rows without a message past the orphan deadline are swept.
 */
export const attachments = pgTable(
  'attachments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    uploaderId: uuid('uploader_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id').references(() => conversations.id, { onDelete: 'cascade' }),
    messageId: uuid('message_id'),
    purpose: text('purpose', { enum: ['message', 'avatar'] }).notNull(),
    state: text('state', { enum: ['pending', 'ready'] }).notNull(),
    name: text('name').notNull(),
    /** What the client declared; the sniffed type is `content_type`. */
    declaredType: text('declared_type').notNull(),
    contentType: text('content_type'),
    kind: text('kind', { enum: ['image', 'video', 'audio', 'file'] }),
    size: bigint('size', { mode: 'number' }).notNull(),
    width: integer('width'),
    height: integer('height'),
    durationMs: integer('duration_ms'),
    /** Storage keys; every byte anyone downloads is under one of these. */
    storageKey: text('storage_key').notNull(),
    thumbnailKey: text('thumbnail_key'),
    createdAt: createdAt(),
  },
  (t) => [
    index('attachments_message_idx').on(t.messageId),
    index('attachments_uploader_idx').on(t.uploaderId),
    index('attachments_unsent_idx').on(t.createdAt).where(sql`${t.messageId} is null`),
  ],
);

/**
 * The mail queue: one row per job (what to mail, not the mail: links are made when it runs, so no
 * secret is stored), deleted once handled. An instance claims a due row for a lease; `sending_at`
 * is set just before the SMTP transaction, so a row found with it after its lease ran out belonged
 * to an instance that died mid-send, and is dropped rather than sent twice.
 */
export const mailOutbox = pgTable(
  'mail_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').notNull(),
    attempts: integer('attempts').notNull().default(0),
    runAt: timestamp('run_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    claimedBy: text('claimed_by'),
    claimedUntil: timestamp('claimed_until', { withTimezone: true, mode: 'string' }),
    sendingAt: timestamp('sending_at', { withTimezone: true, mode: 'string' }),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [index('mail_outbox_run_at_idx').on(t.runAt)],
);

/** Presence across instances is a Redis/in-memory concern; this table only remembers the last sighting. */
export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type ConversationRow = typeof conversations.$inferSelect;
/** A message as queries return it: without the search vector, which only the database reads. */
export type MessageRow = Omit<typeof messages.$inferSelect, 'search'>;
export type ReactionRow = typeof messageReactions.$inferSelect;
export type CallRow = typeof calls.$inferSelect;
export type GroupChangeRow = typeof groupChanges.$inferSelect;
export type CallParticipantRow = typeof callParticipants.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type PushSubscriptionRow = typeof pushSubscriptions.$inferSelect;
export type AttachmentRow = typeof attachments.$inferSelect;
export type MailJobRow = typeof mailOutbox.$inferSelect;
