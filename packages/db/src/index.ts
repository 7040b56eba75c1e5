export * from './client.js';
export * as schema from './schema.js';
export type {
  UserRow,
  SessionRow,
  ConversationRow,
  MessageRow,
  ReactionRow,
  CallRow,
  CallParticipantRow,
  GroupChangeRow,
  EventRow,
  PushSubscriptionRow,
  AttachmentRow,
  MailJobRow,
} from './schema.js';
export * from './queries/users.js';
export * from './queries/sessions.js';
export { isSqlState, isUniqueViolation } from './errors.js';
export * from './queries/admin.js';
export * from './queries/events.js';
export * from './queries/conversations.js';
export * from './queries/messages.js';
export * from './queries/message-changes.js';
export * from './queries/search.js';
export * from './queries/calls.js';
export * from './queries/group-changes.js';
export * from './queries/presence.js';
export * from './queries/push.js';
export * from './queries/accounts.js';
export * from './queries/blocks.js';
export * from './queries/mail.js';
export * from './queries/seed.js';

export * from './queries/attachments.js';
