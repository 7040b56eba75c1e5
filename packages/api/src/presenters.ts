import type { UserRow } from '@parley/db';

/** Timestamps leave the API as ISO-8601 UTC, whatever text form the driver returned. */
export const iso = (value: string | Date) => new Date(value).toISOString();
export const isoOrNull = (value: string | Date | null) => (value === null ? null : iso(value));

/** The caller's own account: the only shape that carries an email. */
export function toUser(row: UserRow) {
  return { id: row.id, email: row.email, displayName: row.displayName, createdAt: iso(row.createdAt) };
}
export type User = ReturnType<typeof toUser>;

export function toPublicUser(row: Pick<UserRow, 'id' | 'displayName' | 'lastSeenAt'>, online: boolean) {
  return { id: row.id, displayName: row.displayName, online, lastSeenAt: isoOrNull(row.lastSeenAt) };
}
export type PublicUser = ReturnType<typeof toPublicUser>;
