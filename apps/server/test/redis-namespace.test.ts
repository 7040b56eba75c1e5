/**
 * Two deployments that share one Redis (staging beside production, or this suite's servers) must
 * not hear each other: event ids mean something only within one database's log, so a foreign
 * event id would move this instance's log past events of its own and lose them.
 */
import { randomUUID } from 'node:crypto';
import { followEvents, type ParleyEvent } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, sleep, startTestServer, TEST_REDIS_URL, waitFor, wsClientAs, type TestServer } from './helpers.js';

describe.skipIf(!TEST_REDIS_URL)('two deployments on one Redis', () => {
  let ours: TestServer;
  let theirs: TestServer;
  beforeAll(async () => {
    // Two embedded databases: two event logs whose ids both start at 1.
    [ours, theirs] = await Promise.all([
      startTestServer({ db: 'pglite', redis: true }),
      startTestServer({ db: 'pglite', redis: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([ours?.close(), theirs?.close()]);
  });

  it('keep their events apart', async () => {
    const [a, b] = [await signUp(ours, 'Ours A'), await signUp(ours, 'Ours B')];
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const received: ParleyEvent[] = [];
    let started = false;
    const follower = followEvents(wsClientAs(ours, b.accessToken).api, {
      onEvent: (e) => received.push(e),
      onStarted: () => (started = true),
    });
    await waitFor(() => started);

    // The other deployment writes a burst of events: their ids run ahead of ours.
    const [x, y] = [await signUp(theirs, 'Theirs X'), await signUp(theirs, 'Theirs Y')];
    const other = await x.client.api.conversations.openDirect.mutate({ userId: y.user.id });
    for (let i = 0; i < 20; i++) {
      await x.client.api.messages.send.mutate({
        conversationId: other.id,
        clientId: randomUUID(),
        body: `theirs ${i}`,
      });
    }
    await sleep(200);

    for (let i = 0; i < 5; i++) {
      await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: `ours ${i}` });
    }
    const bodies = () => received.flatMap((e) => (e.type === 'message.new' ? [e.message.body] : []));
    await waitFor(() => bodies().length >= 5, { timeoutMs: 5000 });
    expect(bodies()).toEqual(['ours 0', 'ours 1', 'ours 2', 'ours 3', 'ours 4']);
    follower.stop();
  });
});
