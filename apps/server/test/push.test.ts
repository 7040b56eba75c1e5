/**
 * Web Push end to end against a real push service on loopback (web-push-testing: it checks the
 * VAPID signature and decrypts every RFC 8291 payload with the subscription's private key).
 * Who gets a push: the other members' devices, not the sender's, not while the member has Parley
 * visible, not in a muted conversation; a call rings by push; 410 drops the subscription; an
 * ended session's subscription is gone; a slow push service never holds up messages.send.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, generateVapidKeys, loadConfig } from '@parley/config';
import { pushSubscriptionsOfUser } from '@parley/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_KINDS,
  errorCode,
  signUp,
  startTestServer,
  tableCounts,
  TEST_PG_URL,
  TEST_REDIS_URL,
  waitFor,
  wsClientAs,
  type TestServer,
} from './helpers.js';
import { startPushService, type MockSubscription } from './push-service.js';

type Pushed = {
  type: string;
  conversationId?: string;
  title?: string;
  body?: string;
  callId?: string;
  senderName?: string;
};

describe('VAPID keys', () => {
  it('are made once in DATA_DIR in development, and required in production', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-vapid-'));
    try {
      const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
      const again = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
      expect(first.push.vapidPublicKey).toMatch(/^[A-Za-z0-9_-]{87}$/);
      expect(again.push).toEqual(first.push);
      expect(() =>
        loadConfig({
          NODE_ENV: 'production',
          DATA_DIR: dir,
          JWT_SECRET: 'x'.repeat(40),
          TURN_SECRET: 'y'.repeat(20),
          ALLOWED_ORIGINS: 'https://parley.example',
        }),
      ).toThrow(ConfigError);
      expect(
        () =>
          loadConfig({
            NODE_ENV: 'production',
            DATA_DIR: dir,
            JWT_SECRET: 'x'.repeat(40),
            TURN_SECRET: 'y'.repeat(20),
            ALLOWED_ORIGINS: 'https://parley.example',
            VAPID_PUBLIC_KEY: first.push.vapidPublicKey,
            VAPID_PRIVATE_KEY: first.push.vapidPrivateKey,
            VAPID_SUBJECT: 'mailto:ops@parley.example',
          }).push.allowLoopback,
      ).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(DB_KINDS)('Web Push, on %s', (db) => {
  let t: TestServer;
  let service: Awaited<ReturnType<typeof startPushService>>;
  let alice: Awaited<ReturnType<typeof signUp>>;
  let bob: Awaited<ReturnType<typeof signUp>>;
  let direct: string;
  let publicKey: string;
  const push = () => t.server.services.push;
  const received = async (sub: MockSubscription) => (await service.received(sub)) as Pushed[];

  /** A fresh browser subscription for `who`, registered with Parley. */
  async function subscribe(who: { client: typeof alice.client }) {
    const sub = await service.subscribe(publicKey);
    await who.client.api.notifications.subscribe.mutate({ endpoint: sub.endpoint, keys: sub.keys });
    return sub;
  }
  const send = (body: string, from = alice) =>
    from.client.api.messages.send.mutate({ conversationId: direct, clientId: randomUUID(), body });

  beforeAll(async () => {
    service = await startPushService();
    t = await startTestServer({ db });
    alice = await signUp(t, 'Alice');
    bob = await signUp(t, 'Bob');
    direct = (await alice.client.api.conversations.openDirect.mutate({ userId: bob.user.id })).id;
    publicKey = (await bob.client.api.notifications.vapidPublicKey.query()).publicKey;
  });
  afterAll(async () => {
    await t?.close();
    await service?.close();
  });

  it('pushes an encrypted, VAPID-signed message to the other member and none to the sender', async () => {
    expect(publicKey).toBe(t.config.push.vapidPublicKey);
    const bobs = await subscribe(bob);
    const alices = await subscribe(alice);
    const sent = await send('Lunch at noon?');
    await push().idle();
    expect(await received(bobs)).toEqual([
      expect.objectContaining({
        type: 'message',
        conversationId: direct,
        messageId: sent.id,
        title: 'Alice',
        body: 'Lunch at noon?',
      }),
    ]);
    expect(await received(alices)).toEqual([]);
  });

  it('says only who wrote when the member hides message text', async () => {
    const sub = await subscribe(bob);
    expect(await bob.client.api.notifications.updateSettings.mutate({ showMessageText: false })).toEqual({
      showMessageText: false,
    });
    await send('the secret plan');
    await push().idle();
    const [pushed] = await received(sub);
    expect(pushed).toMatchObject({ type: 'message', body: 'New message from Alice' });
    expect(JSON.stringify(await received(sub))).not.toContain('secret');
    await bob.client.api.notifications.updateSettings.mutate({ showMessageText: true });
  });

  it('sends nothing while the member has Parley visible, and again once it is hidden', async () => {
    const sub = await subscribe(bob);
    const bobWs = wsClientAs(t, bob.accessToken);
    await bobWs.api.notifications.setVisibility.mutate({ visible: true });
    await send('you are looking at this');
    await push().idle();
    expect(await received(sub)).toEqual([]);
    await bobWs.api.notifications.setVisibility.mutate({ visible: false });
    await send('now you are not');
    await push().idle();
    expect((await received(sub)).map((p) => p.body)).toEqual(['now you are not']);
    // Visible again, then the socket goes away: a closed tab is not looking.
    await bobWs.api.notifications.setVisibility.mutate({ visible: true });
    await bobWs.close();
    await waitFor(() => !t.server.services.connections.isAttending(bob.user.id));
    await send('after the tab closed');
    await push().idle();
    expect((await received(sub)).map((p) => p.body)).toEqual(['now you are not', 'after the tab closed']);
    // Over HTTP there is no socket to speak for.
    expect(await errorCode(bob.client.api.notifications.setVisibility.mutate({ visible: true }))).toBe('BAD_REQUEST');
  });

  it('sends nothing for a muted conversation, until it is unmuted or the mute runs out', async () => {
    const sub = await subscribe(bob);
    const muted = await bob.client.api.conversations.mute.mutate({ conversationId: direct, until: null });
    expect(muted.mutedUntil).toBe('9999-12-31T23:59:59.999Z');
    expect((await alice.client.api.conversations.byId.query({ id: direct })).mutedUntil).toBeNull();
    await send('muted one');
    await push().idle();
    expect(await received(sub)).toEqual([]);
    expect((await bob.client.api.conversations.unmute.mutate({ conversationId: direct })).mutedUntil).toBeNull();
    await send('unmuted one');
    await push().idle();
    expect((await received(sub)).map((p) => p.body)).toEqual(['unmuted one']);

    const until = new Date(Date.now() + 3_600_000).toISOString();
    expect((await bob.client.api.conversations.mute.mutate({ conversationId: direct, until })).mutedUntil).toBe(until);
    await send('muted for an hour');
    await push().idle();
    expect((await received(sub)).map((p) => p.body)).toEqual(['unmuted one']);
    await bob.client.api.conversations.unmute.mutate({ conversationId: direct });

    const before = await tableCounts(t);
    const past = new Date(Date.now() - 1000).toISOString();
    expect(await errorCode(bob.client.api.conversations.mute.mutate({ conversationId: direct, until: past }))).toBe(
      'BAD_REQUEST',
    );
    expect(await tableCounts(t)).toEqual(before);
  });

  it('rings by push for an incoming call', async () => {
    const sub = await subscribe(bob);
    const call = await alice.client.api.calls.start.mutate({ conversationId: direct, media: 'video' });
    await push().idle();
    expect(await received(sub)).toEqual([
      expect.objectContaining({
        type: 'call',
        callId: call.id,
        conversationId: direct,
        media: 'video',
        callerName: 'Alice',
      }),
    ]);
    await alice.client.api.calls.hangup.mutate({ callId: call.id });
  });

  it('deletes a subscription the push service answers 410 for', async () => {
    const sub = await subscribe(bob);
    await service.expire(sub);
    await send('to a browser that unsubscribed');
    await push().idle();
    const endpoints = (await pushSubscriptionsOfUser(t.server.database.db, bob.user.id)).map((s) => s.endpoint);
    expect(endpoints).not.toContain(sub.endpoint);
    expect(endpoints.length).toBeGreaterThan(0);
  });

  it('removes the subscriptions of a signed-out or revoked session', async () => {
    const phone = t.client();
    await phone.api.auth.login.mutate({ email: bob.email, password: bob.password });
    const sub = await subscribe({ client: phone });
    const phoneSession = (await phone.api.auth.sessions.query()).find((s) => s.current)!.id;
    const endpointsOf = async () =>
      (await pushSubscriptionsOfUser(t.server.database.db, bob.user.id)).map((s) => s.endpoint);
    expect(await endpointsOf()).toContain(sub.endpoint);
    await bob.client.api.auth.revokeSession.mutate({ id: phoneSession });
    await waitFor(async () => !(await endpointsOf()).includes(sub.endpoint));
    await send('not for the revoked phone');
    await push().idle();
    expect(await received(sub)).toEqual([]);

    const laptop = t.client();
    await laptop.api.auth.login.mutate({ email: bob.email, password: bob.password });
    const other = await subscribe({ client: laptop });
    await laptop.api.auth.logout.mutate();
    await waitFor(async () => !(await endpointsOf()).includes(other.endpoint));
  });

  it('moves an endpoint to whoever signs in on that browser, and lets nobody else unsubscribe it', async () => {
    const sub = await subscribe(bob);
    await alice.client.api.notifications.unsubscribe.mutate({ endpoint: sub.endpoint });
    expect((await pushSubscriptionsOfUser(t.server.database.db, bob.user.id)).map((s) => s.endpoint)).toContain(
      sub.endpoint,
    );
    // Same browser, now Alice: Bob's news must stop going there.
    await alice.client.api.notifications.subscribe.mutate({ endpoint: sub.endpoint, keys: sub.keys });
    expect((await pushSubscriptionsOfUser(t.server.database.db, bob.user.id)).map((s) => s.endpoint)).not.toContain(
      sub.endpoint,
    );
    await alice.client.api.notifications.unsubscribe.mutate({ endpoint: sub.endpoint });
    expect((await pushSubscriptionsOfUser(t.server.database.db, alice.user.id)).map((s) => s.endpoint)).not.toContain(
      sub.endpoint,
    );
  });

  it('refuses endpoints that are not a push service, changing nothing', async () => {
    const { keys } = await service.subscribe(publicKey);
    const before = await tableCounts(t);
    for (const endpoint of [
      'http://10.0.0.1/push',
      'https://metadata.google.internal/x',
      'https://fcm.googleapis.com.evil.test/x',
      'file:///etc/passwd',
      'not a url',
    ]) {
      expect(await errorCode(bob.client.api.notifications.subscribe.mutate({ endpoint, keys })), endpoint).toBe(
        'BAD_REQUEST',
      );
    }
    expect(
      await errorCode(
        bob.client.api.notifications.subscribe.mutate({
          endpoint: 'https://fcm.googleapis.com/x',
          keys: { p256dh: 'x', auth: keys.auth },
        }),
      ),
    ).toBe('BAD_REQUEST');
    expect(await tableCounts(t)).toEqual(before);
  });
});

describe('a slow or failing push service', () => {
  let t: TestServer;
  let flaky: Server;
  let held: ServerResponse[] = [];
  let hits = 0;

  beforeAll(async () => {
    // Answers 503 to the first request and holds every later one until the test lets go.
    flaky = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      hits++;
      if (hits === 1) res.writeHead(503, { 'retry-after': '0' }).end();
      else held.push(res);
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    t = await startTestServer({ db: 'pglite' });
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    await t?.close();
    await new Promise((r) => flaky.close(r));
  });

  it('never holds up messages.send, and retries after a 503', async () => {
    const alice = await signUp(t, 'Alice');
    const bob = await signUp(t, 'Bob');
    const { id } = await alice.client.api.conversations.openDirect.mutate({ userId: bob.user.id });
    const service = await startPushService();
    const { keys } = await service.subscribe(t.config.push.vapidPublicKey);
    await service.close();
    const endpoint = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/push/1`;
    await bob.client.api.notifications.subscribe.mutate({ endpoint, keys });

    // The push service does not answer at all, yet every send is acknowledged.
    await alice.client.api.messages.send.mutate({ conversationId: id, clientId: randomUUID(), body: 'one' });
    await waitFor(() => hits === 1 && t.server.services.push.stats.retried === 1);
    for (let i = 0; i < 5; i++) {
      await alice.client.api.messages.send.mutate({ conversationId: id, clientId: randomUUID(), body: `more ${i}` });
    }
    // The 503 was retried (then held, like the five others).
    await waitFor(() => held.length === 6);
    for (const res of held) res.writeHead(201).end();
    held = [];
    await t.server.services.push.idle();
    expect(t.server.services.push.stats).toMatchObject({ sent: 6, retried: 1, failed: 0 });
  });
});

describe.skipIf(!TEST_PG_URL || !TEST_REDIS_URL)('Web Push across instances', () => {
  let a: TestServer;
  let b: TestServer;
  let service: Awaited<ReturnType<typeof startPushService>>;

  beforeAll(async () => {
    service = await startPushService();
    // One deployment, one key pair (instances that made their own would sign pushes the browser refuses).
    const keys = generateVapidKeys();
    const env = { VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey };
    a = await startTestServer({ db: 'postgres', redis: true, env });
    b = await startTestServer({ db: 'postgres', redis: true, databaseUrl: a.databaseUrl!, env });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await service?.close();
  });

  it('sends nothing while the member has Parley visible on another instance', async () => {
    const alice = await signUp(b, 'Alice');
    const bob = await signUp(a, 'Bob');
    const { id } = await alice.client.api.conversations.openDirect.mutate({ userId: bob.user.id });
    const sub = await service.subscribe(a.config.push.vapidPublicKey);
    await bob.client.api.notifications.subscribe.mutate({ endpoint: sub.endpoint, keys: sub.keys });
    const send = (body: string) =>
      alice.client.api.messages.send.mutate({ conversationId: id, clientId: randomUUID(), body });

    // Bob's visible tab is on instance a; Alice's message is stored (and pushed) by instance b.
    const bobWs = wsClientAs(a, bob.accessToken);
    await bobWs.api.notifications.setVisibility.mutate({ visible: true });
    await send('seen on the other instance');
    await b.server.services.push.idle();
    expect(await service.received(sub)).toEqual([]);
    expect(b.server.services.push.stats.failed).toBe(0);

    await bobWs.api.notifications.setVisibility.mutate({ visible: false });
    await send('pushed');
    await b.server.services.push.idle();
    expect(((await service.received(sub)) as Pushed[]).map((p) => p.body)).toEqual(['pushed']);
    await bobWs.close();
  });
});
