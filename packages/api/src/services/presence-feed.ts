import { blockersAmong, contactsOf, type Db } from '@parley/db';
import type { PresenceEvent } from '@parley/protocol';
import type { EventLog } from '../events/event-log.js';
import { SubscriptionQueue } from '../events/queue.js';
import { isoOrNull } from '../presenters.js';
import type { Presence, PresenceChange } from './presence.js';

/**
 * `presence.onChange`: a snapshot of everyone who shares a conversation with the viewer, then
 * updates about those users only. Someone who joins a conversation with the viewer later (a new
 * direct chat, added to a group) is added to the watched set from the event log, with an update
 * of their current state.
 */
export class PresenceFeed {
  constructor(private readonly deps: { db: Db; presence: Presence; events: EventLog }) {}

  async *changes(viewerId: string, signal: AbortSignal | undefined): AsyncGenerator<PresenceEvent> {
    type Item = { change: PresenceChange } | { joined: string[] };
    const queue = new SubscriptionQueue<Item>(signal, 10_000);
    // Listen first, then read: a change between the two is queued, not lost.
    const stopPresence = this.deps.presence.onChange((change) => queue.push({ change }));
    const stopEvents = this.deps.events.listen(viewerId, ({ event }) => {
      if (event.type === 'conversation.updated') queue.push({ joined: event.conversation.members.map((m) => m.id) });
    });
    try {
      const contacts = await contactsOf(this.deps.db, viewerId);
      const watched = new Set(contacts.map((c) => c.id));
      const online = await this.deps.presence.onlineAmong([...watched]);
      yield {
        type: 'snapshot',
        users: contacts.map((c) => ({ userId: c.id, online: online.has(c.id), lastSeenAt: isoOrNull(c.lastSeenAt) })),
      };
      for await (const item of queue.drain()) {
        if ('change' in item) {
          const { userId, online: isOnline, lastSeenAt } = item.change;
          if (watched.has(userId)) yield { type: 'update', userId, online: isOnline, lastSeenAt };
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
    }
  }
}
