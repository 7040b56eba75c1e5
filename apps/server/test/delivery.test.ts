/**
 * The delivery guarantees of API.md under load, across two instances sharing PostgreSQL and Redis:
 * every subscriber receives every message once, in order, across drops and instance changes.
 */
import { randomUUID } from 'node:crypto';
import { followEvents, type ParleyClient, type ParleyEvent } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  signUp,
  startTestServer,
  TEST_PG_URL,
  TEST_REDIS_URL,
  waitFor,
  wsClientAs,
  type TestServer,
} from './helpers.js';

type Message = Extract<ParleyEvent, { type: 'message.new' }>['message'];

function subscriber(client: ParleyClient, conversationId: string, lastEventId: string | null = null) {
  const seqs: number[] = [];
  let started = false;
  const follower = followEvents(client.api, {
    lastEventId,
    onStarted: () => (started = true),
    onEvent: (event) => {
      if (event.type === 'message.new' && event.message.conversationId === conversationId) seqs.push(event.message.seq);
    },
  });
  return { seqs, follower, started: () => waitFor(() => started) };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function sendAll(client: ParleyClient, conversationId: string, count: number, parallel: number) {
  const sent: Message[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = range(Math.min(parallel, count - i)).map(() =>
      client.api.messages.send.mutate({ conversationId, clientId: randomUUID(), body: `m ${randomUUID()}` }),
    );
    sent.push(...(await Promise.all(batch)));
  }
  return sent;
}

describe.skipIf(!TEST_PG_URL || !TEST_REDIS_URL)('delivery across two instances (PostgreSQL + Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let one: TestServer;
  let two: TestServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Both start at once: the migration lock lets one migrate while the other waits.
    [one, two] = await Promise.all([
      startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true }),
      startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([one?.close(), two?.close()]);
    await database?.drop();
  });

  it('delivers 20 × 50 concurrent messages to every member once and in order', async () => {
    const users = await Promise.all(range(20).map((i) => signUp(i % 2 ? one : two, `Load ${i}`)));
    const group = await users[0]!.client.api.conversations.createGroup.mutate({
      title: 'Load',
      memberIds: users.slice(1).map((u) => u.user.id),
    });
    const sockets = users.map((u, i) => wsClientAs(i % 2 ? two : one, u.accessToken));
    const subs = sockets.map((s) => subscriber(s, group.id));
    await Promise.all(subs.map((s) => s.started()));

    await Promise.all(sockets.map((s) => sendAll(s, group.id, 50, 5)));
    await waitFor(() => subs.every((s) => s.seqs.length >= 1000), { timeoutMs: 60_000 });
    for (const s of subs) expect(s.seqs).toEqual(range(1000));

    const stored: number[] = [];
    for (let before: number | undefined; ; ) {
      const page = await users[3]!.client.api.messages.list.query({
        conversationId: group.id,
        limit: 100,
        beforeSeq: before,
      });
      stored.unshift(...page.items.map((m) => m.seq));
      if (!page.hasMore) break;
      before = page.items[0]!.seq;
    }
    expect(stored).toEqual(range(1000));
    for (const s of subs) s.follower.stop();
  });

  it('reaches a subscriber on the other instance, and a subscriber resumes on the other instance', async () => {
    const a = await signUp(one, 'Sender');
    const b = await signUp(two, 'Receiver');
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const onTwo = subscriber(wsClientAs(two, b.accessToken), conv.id);
    await onTwo.started();
    await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'across' });
    await waitFor(() => onTwo.seqs.length === 1);

    // The subscriber leaves instance two mid-conversation and comes back on instance one.
    const last = onTwo.follower.lastEventId;
    onTwo.follower.stop();
    await sendAll(wsClientAs(one, a.accessToken), conv.id, 40, 4);
    const onOne = subscriber(wsClientAs(one, b.accessToken), conv.id, last);
    await sendAll(a.client, conv.id, 10, 2);
    await waitFor(() => onOne.seqs.length >= 50);
    expect(onOne.seqs).toEqual(range(51).slice(1));
    onOne.follower.stop();
  });

  it('resumes a socket dropped in the middle of a burst without missing anything', async () => {
    const a = await signUp(one, 'Burst');
    const b = await signUp(one, 'Dropped');
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const sub = subscriber(wsClientAs(one, b.accessToken), conv.id);
    await sub.started();
    const burst = sendAll(wsClientAs(two, a.accessToken), conv.id, 300, 10);
    await waitFor(() => sub.seqs.length >= 50);
    // The server drops every socket it holds; tRPC reconnects and resubscribes with lastEventId.
    one.server.services.connections.closeAll(1012, 'test drop');
    await burst;
    await waitFor(() => sub.seqs.length >= 300, { timeoutMs: 30_000 });
    expect(sub.seqs).toEqual(range(300));
    sub.follower.stop();
  });
});
