import { blockersAmong, contactsOf, type Db } from '@parley/db';
import type { BlockChanged, PresenceEvent } from '@parley/protocol';
import type { EphemeralHub } from '../events/ephemeral.js';
import type { EventLog } from '../events/event-log.js';
import { SubscriptionQueue } from '../events/queue.js';
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

  async *changes(viewerId: string, signal: AbortSignal | undefined): AsyncGenerator<PresenceEvent> {
    type Item = { change: PresenceChange } | { joined: string[] } | { block: BlockChanged };
    const queue = new SubscriptionQueue<Item>(signal, 10_000);
    // Listen first, then read: a change between the two is queued, not lost.
    const stopPresence = this.deps.presence.onChange((change) => queue.push({ change }));
    const stopEvents = this.deps.events.listen(viewerId, ({ event }) => {
      if (event.type === 'conversation.updated') queue.push({ joined: event.conversation.members.map((m) => m.id) });
    });
    const stopBlocks = this.deps.blockNotices.listen(viewerId, (block) => queue.push({ block }));
    try {
      const contacts = await contactsOf(this.deps.db, viewerId);
      const watched = new Set(contacts.map((c) => c.id));
      const online = await this.deps.presence.onlineAmong([...watched]);
      yield {
        type: 'snapshot',
        users: contacts.map((c) => ({ userId: c.id, online: online.has(c.id), lastSeenAt: isoOrNull(c.lastSeenAt) })),
      };
      for (let batch = await queue.take(); batch; batch = await queue.take())
        for (const item of batch) {
          if ('change' in item) {
            const { userId, online: isOnline, lastSeenAt } = item.change;
            if (watched.has(userId)) yield { type: 'update', userId, online: isOnline, lastSeenAt };
            continue;
          }
          if ('block' in item) {
            // The notice says only "look again": notices from two instances may arrive out of order,
            // so what counts is whether the block is there now.
            const { blockerId } = item.block;
            const isBlocker = (await blockersAmong(this.deps.db, viewerId, [blockerId])).has(blockerId);
            if (isBlocker && watched.delete(blockerId)) {
              yield { type: 'update', userId: blockerId, online: false, lastSeenAt: null };
            } else if (!isBlocker && !watched.has(blockerId)) {
              const contact = (await contactsOf(this.deps.db, viewerId)).find((c) => c.id === blockerId);
              if (!contact) continue;
              watched.add(blockerId);
              const now = await this.deps.presence.onlineAmong([blockerId]);
              yield {
                type: 'update',
                userId: blockerId,
                online: now.has(blockerId),
                lastSeenAt: isoOrNull(contact.lastSeenAt),
              };
            }
            continue;
          }
          const joined = item.joined.filter((id) => id !== viewerId && !watched.has(id));
          // Whoever blocked the viewer stays out of their presence (contactsOf leaves them out too).
          const blockers = joined.length > 0 ? await blockersAmong(this.deps.db, viewerId, joined) : new Set<string>();
          const fresh = joined.filter((id) => !blockers.has(id));
          if (fresh.length === 0) continue;
          for (const id of fresh) watched.add(id);
          const now = await this.deps.presence.onlineAmong(fresh);
          const rows = new Map((await contactsOf(this.deps.db, viewerId)).map((c) => [c.id, c.lastSeenAt]));
          for (const id of fresh) {
            yield { type: 'update', userId: id, online: now.has(id), lastSeenAt: isoOrNull(rows.get(id) ?? null) };
          }
        }
    } finally {
      stopPresence();
      stopEvents();
      stopBlocks();
    }
  }
}
