/**
 * The partitioned event log end to end: cursors that cannot be resumed get `resync` (an old
 * numeric id, a cursor older than what retention kept), retention running while messages are sent
 * loses, repeats and reorders nothing for live subscribers, and conversations spread over the
 * partitions.
 */
import { randomUUID } from 'node:crypto';
import { decodeCursor, followEvents, type ParleyEvent } from '@parley/client';
import { schema } from '@parley/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, signUp, startTestServer, waitFor, type TestServer } from './helpers.js';

type Received = { id: string | null; event: ParleyEvent | { type: 'resync' } };

function collect(api: Parameters<typeof followEvents>[0], lastEventId: string | null) {
  const received: Received[] = [];
  let started = false;
  const follower = followEvents(api, {
    lastEventId,
    onEvent: (event, id) => received.push({ id, event }),
    onResync: () => received.push({ id: null, event: { type: 'resync' } }),
    onStarted: () => (started = true),
  });
  return { received, follower, started: () => waitFor(() => started) };
}
const bodies = (r: Received[]) => r.flatMap((x) => (x.event.type === 'message.new' ? [x.event.message.body] : []));

describe.each(DB_KINDS)('partitioned event log on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db, env: { EVENT_PARTITIONS: '16' } });
  });
  afterAll(() => t?.close());

  it('has 16 partitions, and conversations spread over them', async () => {
    expect(t.server.services.events.partitionCount).toBe(16);
    const rows = await t.server.database.db.select().from(schema.eventPartitions);
    expect(rows).toHaveLength(16);
    const a = await signUp(t);
    const partitions = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const b = await signUp(t);
      const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
      partitions.add(
        t.server.services.events.partitionOf({
          type: 'message.read',
          conversationId: conv.id,
          userId: a.user.id,
          seq: 1,
        }),
      );
    }
    // 12 conversations over 16 partitions: all in one would be a broken hash (odds ~1e-14).
    expect(partitions.size).toBeGreaterThan(3);
  });

  it('answers a numeric cursor of the previous version with resync, then follows live', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const stream = collect(b.client.api, '12345');
    await waitFor(() => stream.received.length === 1);
    expect(stream.received[0]!.event.type).toBe('resync');
    expect(decodeCursor(stream.follower.lastEventId!)).toHaveLength(16);
    await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'after resync' });
    await waitFor(() => bodies(stream.received).length === 1);
    expect(bodies(stream.received)).toEqual(['after resync']);
    stream.follower.stop();
  });

  it('answers a cursor older than what retention kept with resync; a newer one replays as before', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const first = collect(b.client.api, null);
    await first.started();
    await waitFor(() => first.follower.lastEventId);
    const old = first.follower.lastEventId!;
    await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'one' });
    await waitFor(() => bodies(first.received).length === 1);
    first.follower.stop();
    // Retention takes everything logged so far.
    expect(await t.server.services.events.pruneOlderThan(0)).toBeGreaterThan(0);
    const kept = first.follower.lastEventId!;
    await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'two' });

    const stale = collect(b.client.api, old);
    await waitFor(() => stale.received.length > 0);
    expect(stale.received[0]!.event.type).toBe('resync');
    // After the resync it follows live, and does not replay what it was told to reload.
    await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'three' });
    await waitFor(() => bodies(stale.received).includes('three'));
    expect(bodies(stale.received)).toEqual(['three']);
    stale.follower.stop();

    // A cursor past the deleted events resumes as before: 'two' is replayed, nothing is lost.
    const fresh = collect(b.client.api, kept);
    await waitFor(() => bodies(fresh.received).length === 2);
    expect(bodies(fresh.received)).toEqual(['two', 'three']);
    expect(fresh.received.some((x) => x.event.type === 'resync')).toBe(false);
    fresh.follower.stop();
  });

  it('loses, repeats and reorders nothing for live subscribers while retention deletes during sends', async () => {
    const senders = await Promise.all(Array.from({ length: 4 }, () => signUp(t)));
    const reader = await signUp(t);
    const convs = await Promise.all(
      senders.map((s) => s.client.api.conversations.openDirect.mutate({ userId: reader.user.id })),
    );
    const stream = collect(reader.client.api, null);
    await stream.started();
    // Retention at one second: what the sends log early is deleted while later ones are sent.
    // (Not 0: an instance reads a gap back within milliseconds, and a log that deleted it first
    // would rightly make its subscribers resync.)
    await new Promise((r) => setTimeout(r, 1_000));
    let pruning = true;
    let pruned = 0;
    const pruner = (async () => {
      while (pruning) {
        pruned += await t.server.services.events.pruneOlderThan(1_000);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const PER_SENDER = 40;
    await Promise.all(
      senders.map(async (s, i) => {
        for (let n = 0; n < PER_SENDER; n++) {
          await s.client.api.messages.send.mutate({
            conversationId: convs[i]!.id,
            clientId: randomUUID(),
            body: `${i}:${n}`,
          });
        }
      }),
    );
    await waitFor(() => bodies(stream.received).length >= senders.length * PER_SENDER);
    pruning = false;
    await pruner;
    stream.follower.stop();
    const got = bodies(stream.received);
    expect(got).toHaveLength(senders.length * PER_SENDER);
    expect(new Set(got).size).toBe(got.length);
    for (let i = 0; i < senders.length; i++) {
      expect(got.filter((b) => b.startsWith(`${i}:`))).toEqual(
        Array.from({ length: PER_SENDER }, (_, n) => `${i}:${n}`),
      );
    }
    expect(stream.received.some((x) => x.event.type === 'resync')).toBe(false);
    expect(pruned).toBeGreaterThan(0);
  });
});
