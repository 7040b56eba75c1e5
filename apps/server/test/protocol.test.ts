/**
 * The event protocol (packages/protocol) end to end: every logged event type reaches a live
 * subscriber and a resuming one as the very same object, and every event parses with its schema.
 */
import { randomUUID } from 'node:crypto';
import { eventScope, followEvents, storedEvent, userEvent, type ParleyEvent, type StoredEvent } from '@parley/client';
import { schema } from '@parley/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, signUp, startTestServer, waitFor, type TestServer } from './helpers.js';

type Received = { id: string | null; event: ParleyEvent };

function collect(api: Parameters<typeof followEvents>[0], lastEventId: string | null) {
  const received: Received[] = [];
  let started = false;
  const follower = followEvents(api, {
    lastEventId,
    onEvent: (event, id) => received.push({ id, event }),
    onStarted: () => (started = true),
  });
  return { received, follower, started: () => waitFor(() => started) };
}

/** The scope of a delivered event is its stored form's (conversation.updated: the conversation's id). */
const toStored = (event: Exclude<ParleyEvent, { type: 'typing' }>): StoredEvent =>
  event.type === 'conversation.updated'
    ? { type: 'conversation.updated', conversation: { ...event.conversation, members: [], lastSeq: 0 } }
    : event;

describe.each(DB_KINDS)('event protocol on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db });
  });
  afterAll(() => t?.close());

  it('replay and live delivery hand out the same object, for every logged event type', async () => {
    const a = await signUp(t, 'Ada');
    const b = await signUp(t, 'Bob');
    const c = await signUp(t, 'Cy');
    const live = collect(a.client.api, null);
    await live.started();
    await waitFor(() => live.follower.lastEventId);
    const start = live.follower.lastEventId;

    // Every kind of logged event, as the API makes them.
    const direct = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const group = await a.client.api.conversations.createGroup.mutate({ title: 'Team', memberIds: [b.user.id] });
    await a.client.api.conversations.addMembers.mutate({ conversationId: group.id, userIds: [c.user.id] });
    await b.client.api.conversations.rename.mutate({ conversationId: group.id, title: 'Crew' });
    await c.client.api.conversations.leave.mutate({ conversationId: group.id });
    const send = (who: typeof a, conversationId: string) =>
      who.client.api.messages.send.mutate({
        conversationId,
        clientId: randomUUID(),
        body: `hi from ${who.user.displayName}`,
      });
    const first = await send(a, direct.id);
    await b.client.api.messages.markRead.mutate({ conversationId: direct.id, seq: 1 });
    await send(b, direct.id);
    await send(b, group.id);
    await b.client.api.messages.react.mutate({ messageId: first.id, emoji: '👍' });
    const call = await a.client.api.calls.start.mutate({ conversationId: direct.id, media: 'audio' });
    await a.client.api.calls.hangup.mutate({ callId: call.id });
    await b.client.api.messages.typing.mutate({ conversationId: direct.id });

    // conversation.updated ×5, group.changed ×4 (created, added, renamed, left), message.new ×3, read, reaction, call.
    const expected = 5 + 4 + 3 + 1 + 1 + 1;
    const tracked = (r: Received[]) => r.filter((x) => x.id !== null);
    await waitFor(
      () => tracked(live.received).length === expected && live.received.some((x) => x.event.type === 'typing'),
    );
    const replay = collect(a.client.api, start);
    await waitFor(() => tracked(replay.received).length === expected);
    live.follower.stop();
    replay.follower.stop();

    // The same objects; in the same order within each conversation (the log's unit of order:
    // across conversations a replay goes partition by partition, live goes in commit order).
    const byScope = (r: Received[]) => {
      const groups = new Map<string, unknown[]>();
      for (const { event } of tracked(r)) {
        if (event.type === 'typing') continue;
        const key = JSON.stringify(eventScope(toStored(event)));
        groups.set(key, [...(groups.get(key) ?? []), event]);
      }
      return Object.fromEntries([...groups].sort(([x], [y]) => x.localeCompare(y)));
    };
    expect(byScope(replay.received)).toStrictEqual(byScope(live.received));
    expect(tracked(replay.received)).toHaveLength(tracked(live.received).length);
    // Every logged event type of the protocol was among them: a new type needs a case above.
    const types = new Set(tracked(live.received).map((x) => x.event.type));
    expect([...types].sort()).toEqual(storedEvent.options.map((o) => o.shape.type.value).sort());
    // And what was delivered is exactly what the schema describes (nothing more, nothing less).
    for (const { event } of live.received) expect(userEvent.parse(event)).toStrictEqual(event);
    // Typing is ephemeral: live only.
    expect(replay.received.some((x) => x.event.type === 'typing')).toBe(false);
  });

  it('stores events that parse with the protocol schema', async () => {
    const list = await t.server.database.db.select({ payload: schema.events.payload }).from(schema.events);
    expect(list.length).toBeGreaterThan(0);
    for (const row of list) expect(storedEvent.parse(row.payload)).toStrictEqual(row.payload);
  });
});
