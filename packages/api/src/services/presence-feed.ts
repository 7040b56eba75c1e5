import { blockersAmong, contactsOf, type Db } from '@parley/db';
import type { BlockChanged, PresenceEvent } from '@parley/protocol';
import type { EphemeralHub } from '../events/ephemeral.js';
import type { EventLog } from '../events/event-log.js';
import { LiveStream } from '../events/live-stream.js';
import { isoOrNull } from '../presenters.js';
import type { Presence, PresenceChange } from './presence.js';

/**
 * `presence.onChange`: a snapshot of everyone who shares a conversation with the viewer, then
 * updates about those users only. Someone who joins a conversation with the viewer later (a new
 * direct chat, added to a group) is added to the watched set from the event log, with an update
 * of their current state. A block takes effect on open streams at once: the blocked viewer's
 * streams (on every instance, via the bus) stop following the blocker, who then looks offline and
 * never seen, as after a reconnect; an unblock takes them back with their current state.
 */
export class PresenceFeed {
  constructor(
    private readonly deps: { db: Db; presence: Presence; events: EventLog; blockNotices: EphemeralHub<BlockChanged> },
  ) {}

  changes(viewerId: string): AsyncIterableIterator<PresenceEvent> {
    type Item = { change: PresenceChange } | { joined: string[] } | { block: BlockChanged };
    const watched = new Set<string>();
    const stream: LiveStream<Item, PresenceEvent> = new LiveStream({
      capacity: 10_000,
      catchUp: this.snapshot(viewerId, watched),
      step: (item) => {
        if ('change' in item) {
          const { userId, online, lastSeenAt } = item.change;
          return watched.has(userId) ? { type: 'update', userId, online, lastSeenAt } : undefined;
        }
        if ('block' in item) return this.blockChanged(viewerId, watched, item.block);
        return this.joined(viewerId, watched, item.joined);
      },
      end: () => {
        stopPresence();
        stopEvents();
        stopBlocks();
      },
    });
    // Listen first, then read: a change between the two is queued, not lost.
    const stopPresence = this.deps.presence.onChange((change) => stream.push({ change }));
    const stopEvents = this.deps.events.listen(viewerId, ({ event }) => {
      if (event.type === 'conversation.updated') stream.push({ joined: event.conversation.members.map((m) => m.id) });
    });
    const stopBlocks = this.deps.blockNotices.listen(viewerId, (block) => stream.push({ block }));
    return stream;
  }

  private async *snapshot(viewerId: string, watched: Set<string>): AsyncGenerator<PresenceEvent, void> {
    const contacts = await contactsOf(this.deps.db, viewerId);
    for (const c of contacts) watched.add(c.id);
    const online = await this.deps.presence.onlineAmong([...watched]);
    yield {
      type: 'snapshot',
      users: contacts.map((c) => ({ userId: c.id, online: online.has(c.id), lastSeenAt: isoOrNull(c.lastSeenAt) })),
    };
  }

  /**
   * The notice says only "look again": notices from two instances may arrive out of order, so
   * what counts is whether the block is there now.
   */
  private async blockChanged(
    viewerId: string,
    watched: Set<string>,
    { blockerId }: BlockChanged,
  ): Promise<PresenceEvent | undefined> {
    const isBlocker = (await blockersAmong(this.deps.db, viewerId, [blockerId])).has(blockerId);
    if (isBlocker && watched.delete(blockerId))
      return { type: 'update', userId: blockerId, online: false, lastSeenAt: null };
    if (isBlocker || watched.has(blockerId)) return undefined;
    const contact = (await contactsOf(this.deps.db, viewerId)).find((c) => c.id === blockerId);
    if (!contact) return undefined;
    watched.add(blockerId);
    const now = await this.deps.presence.onlineAmong([blockerId]);
    return { type: 'update', userId: blockerId, online: now.has(blockerId), lastSeenAt: isoOrNull(contact.lastSeenAt) };
  }

  /** Members of a conversation the viewer is in, new to the watched set, with their current state. */
  private async joined(viewerId: string, watched: Set<string>, members: string[]): Promise<PresenceEvent[]> {
    const joined = members.filter((id) => id !== viewerId && !watched.has(id));
    if (joined.length === 0) return [];
    // Whoever blocked the viewer stays out of their presence (contactsOf leaves them out too).
    const blockers = await blockersAmong(this.deps.db, viewerId, joined);
    const fresh = joined.filter((id) => !blockers.has(id));
    if (fresh.length === 0) return [];
    for (const id of fresh) watched.add(id);
    const now = await this.deps.presence.onlineAmong(fresh);
    const rows = new Map((await contactsOf(this.deps.db, viewerId)).map((c) => [c.id, c.lastSeenAt]));
    return fresh.map((id) => ({
      type: 'update',
      userId: id,
      online: now.has(id),
      lastSeenAt: isoOrNull(rows.get(id) ?? null),
    }));
  }
}
