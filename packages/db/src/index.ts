export * from './client.js';
export * as schema from './schema.js';
export type { UserRow, SessionRow, ConversationRow, MessageRow, CallRow, EventRow } from './schema.js';
export * from './queries/users.js';
export * from './queries/sessions.js';
export { isUniqueViolation } from './errors.js';
export * from './queries/admin.js';
