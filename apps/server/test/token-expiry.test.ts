import { randomUUID } from 'node:crypto';
import { followEvents } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_TOKEN_EXPIRED } from '@parley/api';
import { signUp, startTestServer, waitFor, type TestServer } from './helpers.js';

describe('an access token that expires during a live socket', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite', env: { ACCESS_TOKEN_TTL_SECONDS: '3' } });
  });
  afterAll(() => t?.close());

  it('closes the socket; the client reconnects with a fresh token and resumes without loss', async () => {
    const sender = await signUp(t, 'Sender');
    const states: string[] = [];
    const receiver = await signUp(t, 'Receiver', {
      transport: 'ws',
      onConnectionChange: (state) => states.push(state),
    });
    const conv = await sender.client.api.conversations.openDirect.mutate({ userId: receiver.user.id });
    const seqs: number[] = [];
    let started = false;
    const follower = followEvents(receiver.client.api, {
      onStarted: () => (started = true),
      onEvent: (e) => void (e.type === 'message.new' && seqs.push(e.message.seq)),
    });
    await waitFor(() => started);
    const closeCodes: number[] = [];
    const originalAdd = t.server.services.connections.add.bind(t.server.services.connections);
    t.server.services.connections.add = (conn) =>
      originalAdd({
        ...conn,
        close: (code, reason) => {
          closeCodes.push(code);
          conn.close(code, reason);
        },
      });

    // Keep sending across several token lifetimes (3 s each).
    const deadline = Date.now() + 7_500;
    let sent = 0;
    while (Date.now() < deadline) {
      // The sender refreshes too; keep it on HTTP so only the receiver's socket is in play.
      await sender.client.api.messages.send.mutate({
        conversationId: conv.id,
        clientId: randomUUID(),
        body: `n${++sent}`,
      });
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => seqs.length >= sent, { timeoutMs: 10_000 });
    expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(closeCodes).toContain(CLOSE_TOKEN_EXPIRED);
    expect(states.filter((s) => s === 'open').length).toBeGreaterThanOrEqual(2);
    follower.stop();
  });
});
