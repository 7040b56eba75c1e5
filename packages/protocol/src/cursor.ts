/**
 * The resume cursor of `messages.onEvent` (the tracked id, passed back as `lastEventId`): the
 * position of every partition of the event log. Opaque to clients, which only store it and hand
 * it back; `cursorCovers` lets a follower drop an event it has already seen.
 *
 * Form: `c1.` then each partition's position in base 36, joined by `.`. A numeric id (the single
 * log before partitions) is still accepted as input and answered with `resync`.
 */
export const MAX_PARTITIONS = 256;
const PREFIX = 'c1.';

/** What `lastEventId` may look like: a cursor, or a numeric id of the previous version. */
export const CURSOR_PATTERN = /^(\d{1,18}|c1(\.[0-9a-z]{1,12}){1,256})$/;

export function encodeCursor(positions: readonly number[]): string {
  return PREFIX + positions.map((p) => p.toString(36)).join('.');
}

/** The positions in a cursor, or null for anything else (a numeric id of the previous version included). */
export function decodeCursor(cursor: string): number[] | null {
  if (!cursor.startsWith(PREFIX)) return null;
  const parts = cursor.slice(PREFIX.length).split('.');
  if (parts.length === 0 || parts.length > MAX_PARTITIONS) return null;
  const positions = parts.map((p) => (/^[0-9a-z]{1,12}$/.test(p) ? parseInt(p, 36) : NaN));
  return positions.every((p) => Number.isSafeInteger(p) && p >= 0) ? positions : null;
}

/** True when everything up to `event` is already covered by `seen` (same log shape, no position ahead). */
export function cursorCovers(seen: string, event: string): boolean {
  const a = decodeCursor(seen);
  const b = decodeCursor(event);
  if (!a || !b || a.length !== b.length) return false;
  return b.every((p, i) => p <= a[i]!);
}
