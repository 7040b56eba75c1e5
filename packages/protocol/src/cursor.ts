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
  // One pattern for the whole cursor, not one per part: followers decode one per event.
  if (!cursor.startsWith(PREFIX) || !CURSOR_PATTERN.test(cursor)) return null;
  const positions = cursor.slice(PREFIX.length).split('.');
  const out = new Array<number>(positions.length);
  for (let i = 0; i < positions.length; i++) {
    const p = parseInt(positions[i]!, 36);
    if (!Number.isSafeInteger(p)) return null;
    out[i] = p;
  }
  return out;
}

/** The last `seen` cursor decoded: a follower asks about each event against the same one until it moves. */
let seenCache: { cursor: string; positions: number[] | null } = { cursor: '', positions: null };

/** True when everything up to `event` is already covered by `seen` (same log shape, no position ahead). */
export function cursorCovers(seen: string, event: string): boolean {
  if (seenCache.cursor !== seen) seenCache = { cursor: seen, positions: decodeCursor(seen) };
  const a = seenCache.positions;
  const b = decodeCursor(event);
  if (!a || !b || a.length !== b.length) return false;
  return b.every((p, i) => p <= a[i]!);
}
