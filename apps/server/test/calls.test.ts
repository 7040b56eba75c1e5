import { randomUUID } from 'node:crypto';
import type { ParleyClient, RouterOutputs } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  DB_KINDS,
  errorCode,
  signUp,
  startTestServer,
  TEST_PG_URL,
  TEST_REDIS_URL,
  sleep,
  waitFor,
  type TestServer,
} from './helpers.js';

type Call = RouterOutputs['calls']['start'];
type StateType = 'call.incoming' | 'call.accepted' | 'call.declined' | 'call.ended';
type StateEvent = { type: StateType; call: Call };
type SignalEvent = { type: 'signal'; callId: string; fromUserId: string; signal: unknown };
type CallEvent = StateEvent | SignalEvent;

/** A device following `calls.onEvent`. */
async function follow(client: ParleyClient) {
  const received: CallEvent[] = [];
  let started = false;
  let failed: unknown = null;
  const sub = client.api.calls.onEvent.subscribe(undefined, {
    onStarted: () => (started = true),
    onData: (event) => received.push(event as CallEvent),
    onError: (err) => (failed = err),
  });
  await waitFor(() => started || failed);
  if (failed) throw failed;
  const of = (type: CallEvent['type'], callId: string) =>
    received.filter((e) => e.type === type && ('call' in e ? e.call.id === callId : e.callId === callId));
  return {
    received,
    stop: () => sub.unsubscribe(),
    of,
    /** Waits for an event of `type` about call `callId` and returns it. */
    next: (type: StateType, callId: string) => waitFor(() => of(type, callId)[0] as StateEvent | undefined),
    nextSignal: (callId: string) => waitFor(() => of('signal', callId)[0] as SignalEvent | undefined),
  };
}

/** Signs in again as an existing user: a second device. */
async function secondDevice(t: TestServer, who: { email: string; password: string }) {
  const client = t.client();
  await client.api.auth.login.mutate({ email: who.email, password: who.password });
  return client;
}

async function pair(t: TestServer) {
  const a = await signUp(t, 'Caller');
  const b = await signUp(t, 'Callee');
  const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
  return { a, b, conv };
}

describe.each(DB_KINDS)('calls on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      db,
      redis: Boolean(TEST_REDIS_URL),
      env: { TURN_URLS: 'turn:turn.example.test:3478' },
    });
  });
  afterAll(() => t?.close());

  it('rings every callee device, stops the others when one answers, then hangs up', async () => {
    const { a, b, conv } = await pair(t);
    const b2 = await secondDevice(t, b);
    const [aEv, bEv, b2Ev] = await Promise.all([follow(a.client), follow(b.client), follow(b2)]);

    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'video' });
    expect(call).toMatchObject({
      conversationId: conv.id,
      callerId: a.user.id,
      calleeId: b.user.id,
      media: 'video',
      state: 'ringing',
      endReason: null,
      answeredAt: null,
      endedAt: null,
    });
    expect(new Date(call.createdAt).toISOString()).toBe(call.createdAt);
    expect((await bEv.next('call.incoming', call.id)).call).toEqual(call);
    expect((await b2Ev.next('call.incoming', call.id)).call).toEqual(call);

    const accepted = await b.client.api.calls.accept.mutate({ callId: call.id });
    expect(accepted).toMatchObject({ id: call.id, state: 'active', endReason: null, endedAt: null });
    expect(accepted.answeredAt).not.toBeNull();
    // The other device stops ringing; the caller learns it may send its offer.
    expect((await b2Ev.next('call.accepted', call.id)).call).toEqual(accepted);
    expect((await aEv.next('call.accepted', call.id)).call).toEqual(accepted);
    await bEv.next('call.accepted', call.id);

    // The second device is too late; nothing else may happen to an active call but a hangup.
    expect(await errorCode(b2.api.calls.accept.mutate({ callId: call.id }))).toBe('CONFLICT');
    expect(await errorCode(b.client.api.calls.decline.mutate({ callId: call.id }))).toBe('CONFLICT');
    expect(await errorCode(a.client.api.calls.accept.mutate({ callId: call.id }))).toBe('FORBIDDEN');

    const ended = await b2.api.calls.hangup.mutate({ callId: call.id });
    expect(ended).toMatchObject({ state: 'ended', endReason: 'hangup' });
    expect(ended.endedAt).not.toBeNull();
    for (const ev of [aEv, bEv, b2Ev]) expect((await ev.next('call.ended', call.id)).call).toEqual(ended);
    // The caller never rang.
    expect(aEv.of('call.incoming', call.id)).toHaveLength(0);

    const afterEnd = [
      a.client.api.calls.hangup.mutate({ callId: call.id }),
      b.client.api.calls.accept.mutate({ callId: call.id }),
      b.client.api.calls.decline.mutate({ callId: call.id }),
      a.client.api.calls.signal.mutate({ callId: call.id, signal: { type: 'offer', sdp: 'v=0' } }),
    ].map((p) => errorCode(p));
    expect(await Promise.all(afterEnd)).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT']);
    for (const ev of [aEv, bEv, b2Ev]) ev.stop();
  });

  it('lets exactly one of several racing accepts win', async () => {
    const { a, b, conv } = await pair(t);
    const devices = [b.client, await secondDevice(t, b), await secondDevice(t, b)];
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    const results = await Promise.all(devices.map((d) => errorCode(d.api.calls.accept.mutate({ callId: call.id }))));
    expect(results.filter((r) => r === 'no error')).toHaveLength(1);
    expect(results.filter((r) => r === 'CONFLICT')).toHaveLength(2);
    await a.client.api.calls.hangup.mutate({ callId: call.id });
  });

  it('declines, and ends a ringing call hung up by either side', async () => {
    const { a, b, conv } = await pair(t);
    const [aEv, bEv] = await Promise.all([follow(a.client), follow(b.client)]);

    const c1 = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    expect(await errorCode(a.client.api.calls.decline.mutate({ callId: c1.id }))).toBe('FORBIDDEN');
    const declined = await b.client.api.calls.decline.mutate({ callId: c1.id });
    expect(declined).toMatchObject({ state: 'ended', endReason: 'declined', answeredAt: null });
    expect((await aEv.next('call.declined', c1.id)).call).toEqual(declined);
    expect(await errorCode(b.client.api.calls.accept.mutate({ callId: c1.id }))).toBe('CONFLICT');

    // The caller gives up before an answer: a missed call for the callee.
    const c2 = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    await bEv.next('call.incoming', c2.id);
    const cancelled = await a.client.api.calls.hangup.mutate({ callId: c2.id });
    expect(cancelled).toMatchObject({ state: 'ended', endReason: 'missed' });
    expect((await bEv.next('call.ended', c2.id)).call).toEqual(cancelled);

    // The callee hangs up while it rings: that is a decline. The callee may call back afterwards.
    const c3 = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'video' });
    expect(await b.client.api.calls.hangup.mutate({ callId: c3.id })).toMatchObject({
      state: 'ended',
      endReason: 'declined',
    });
    await aEv.next('call.declined', c3.id);
    const back = await b.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    expect(back).toMatchObject({ callerId: b.user.id, calleeId: a.user.id, state: 'ringing' });
    await aEv.next('call.incoming', back.id);
    await a.client.api.calls.hangup.mutate({ callId: back.id });
    aEv.stop();
    bEv.stop();
  });

  it('answers busy when the callee or the caller is already in a call', async () => {
    const { a, b, conv } = await pair(t);
    const c = await signUp(t, 'Third');
    const d = await signUp(t, 'Fourth');
    const cb = await c.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const ac = await a.client.api.conversations.openDirect.mutate({ userId: c.user.id });
    const bd = await b.client.api.conversations.openDirect.mutate({ userId: d.user.id });
    const cEv = await follow(c.client);

    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    // Callee busy (ringing counts), caller busy, and the callee of a ringing call cannot call out.
    const busy = c.client.api.calls.start.mutate({ conversationId: cb.id, media: 'audio' });
    expect(await errorCode(busy)).toBe('CONFLICT');
    await expect(busy).rejects.toThrow(/busy/i);
    expect(await errorCode(a.client.api.calls.start.mutate({ conversationId: ac.id, media: 'audio' }))).toBe(
      'CONFLICT',
    );
    expect(await errorCode(b.client.api.calls.start.mutate({ conversationId: bd.id, media: 'audio' }))).toBe(
      'CONFLICT',
    );
    expect(await errorCode(a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' }))).toBe(
      'CONFLICT',
    );
    // The refused attempt is recorded as a call that ended busy.
    const record = await waitFor(() => cEv.received.find((e) => e.type === 'call.ended'));
    expect(record).toMatchObject({
      call: { callerId: c.user.id, calleeId: b.user.id, state: 'ended', endReason: 'busy' },
    });

    await b.client.api.calls.accept.mutate({ callId: call.id });
    expect(await errorCode(c.client.api.calls.start.mutate({ conversationId: cb.id, media: 'audio' }))).toBe(
      'CONFLICT',
    );
    await a.client.api.calls.hangup.mutate({ callId: call.id });
    // Free again.
    const later = await c.client.api.calls.start.mutate({ conversationId: cb.id, media: 'audio' });
    expect(later.state).toBe('ringing');
    await c.client.api.calls.hangup.mutate({ callId: later.id });
    cEv.stop();
  });

  it('relays signals to the other participant only; outsiders get NOT_FOUND everywhere', async () => {
    const { a, b, conv } = await pair(t);
    const a2 = await secondDevice(t, a);
    const mallory = await signUp(t, 'Mallory');
    const [aEv, a2Ev, bEv, mEv] = await Promise.all([
      follow(a.client),
      follow(a2),
      follow(b.client),
      follow(mallory.client),
    ]);

    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'video' });
    await b.client.api.calls.accept.mutate({ callId: call.id });
    const offer = { type: 'offer' as const, sdp: 'v=0 offer' };
    const answer = { type: 'answer' as const, sdp: 'v=0 answer' };
    const ice = {
      type: 'ice' as const,
      candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
    };
    expect(await a.client.api.calls.signal.mutate({ callId: call.id, signal: offer })).toEqual({ ok: true });
    expect(await b.client.api.calls.signal.mutate({ callId: call.id, signal: answer })).toEqual({ ok: true });
    await a.client.api.calls.signal.mutate({ callId: call.id, signal: ice });

    const toB = await waitFor(() => (bEv.of('signal', call.id).length === 2 ? bEv.of('signal', call.id) : null));
    expect(toB).toEqual([
      { type: 'signal', callId: call.id, fromUserId: a.user.id, signal: offer },
      { type: 'signal', callId: call.id, fromUserId: a.user.id, signal: ice },
    ]);
    expect(await aEv.nextSignal(call.id)).toEqual({
      type: 'signal',
      callId: call.id,
      fromUserId: b.user.id,
      signal: answer,
    });

    // Outsiders: nothing about the call exists for them.
    const outsider = [
      mallory.client.api.calls.signal.mutate({ callId: call.id, signal: offer }),
      mallory.client.api.calls.accept.mutate({ callId: call.id }),
      mallory.client.api.calls.decline.mutate({ callId: call.id }),
      mallory.client.api.calls.hangup.mutate({ callId: call.id }),
      a.client.api.calls.hangup.mutate({ callId: randomUUID() }),
      mallory.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' }),
      a.client.api.calls.start.mutate({ conversationId: randomUUID(), media: 'audio' }),
    ].map((p) => errorCode(p));
    expect(await Promise.all(outsider)).toEqual(Array(7).fill('NOT_FOUND'));
    // Group calls exist too (group-calls.test.ts), and someone in a call is busy for them as well.
    const group = await a.client.api.conversations.createGroup.mutate({ title: 'G', memberIds: [b.user.id] });
    expect(await errorCode(a.client.api.calls.start.mutate({ conversationId: group.id, media: 'audio' }))).toBe(
      'CONFLICT',
    );

    // After an event everyone hears, the senders' own devices still hold no signal of their own.
    const ended = await a.client.api.calls.hangup.mutate({ callId: call.id });
    for (const ev of [aEv, a2Ev, bEv]) expect((await ev.next('call.ended', call.id)).call).toEqual(ended);
    expect(bEv.of('signal', call.id).every((e) => 'fromUserId' in e && e.fromUserId === a.user.id)).toBe(true);
    expect(aEv.of('signal', call.id)).toHaveLength(1);
    // a2 is the caller's other device: the answer is meant for the caller, so it gets it too, never the offer.
    expect(a2Ev.of('signal', call.id).every((e) => 'fromUserId' in e && e.fromUserId === b.user.id)).toBe(true);
    expect(mEv.received).toEqual([]);
    for (const ev of [aEv, a2Ev, bEv, mEv]) ev.stop();
  });

  it('hands out time-limited TURN credentials', async () => {
    const a = await signUp(t);
    const result = await a.client.api.calls.iceServers.query();
    expect(result.ttlSeconds).toBeGreaterThan(0);
    const turn = result.iceServers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
    expect(turn?.username).toMatch(new RegExp(`^\\d+:${a.user.id}$`));
    expect(turn?.credential).toBeTruthy();
  });
});

describe.each(DB_KINDS)('unanswered calls on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db, redis: Boolean(TEST_REDIS_URL), env: { CALL_RING_TIMEOUT_MS: '400' } });
  });
  afterAll(() => t?.close());

  it('end as missed after the ring timeout, and a device that subscribes while it rings hears it ring', async () => {
    const { a, b, conv } = await pair(t);
    const aEv = await follow(a.client);
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    const late = await follow(b.client);
    expect((await late.next('call.incoming', call.id)).call).toEqual(call);
    const ended = await aEv.next('call.ended', call.id);
    expect(ended.call).toMatchObject({ id: call.id, state: 'ended', endReason: 'missed', answeredAt: null });
    expect((await late.next('call.ended', call.id)).call).toEqual(ended.call);
    expect(late.of('call.incoming', call.id)).toHaveLength(1);
    expect(await errorCode(b.client.api.calls.accept.mutate({ callId: call.id }))).toBe('CONFLICT');
    // Not busy any more.
    const again = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    await b.client.api.calls.decline.mutate({ callId: again.id });
    aEv.stop();
    late.stop();
  });
});

describe.each(DB_KINDS)('calls whose participant goes away, on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db, redis: Boolean(TEST_REDIS_URL), env: { CALL_ABANDON_GRACE_MS: '400' } });
  });
  afterAll(() => t?.close());

  it('end an active call as failed once a participant has had no socket for the grace period', async () => {
    const { a, b, conv } = await pair(t);
    const [aEv, bEv] = await Promise.all([follow(a.client), follow(b.client)]);
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'video' });
    await bEv.next('call.incoming', call.id);
    await b.client.api.calls.accept.mutate({ callId: call.id });

    // A reload (the socket goes and comes back within the grace period) keeps the call.
    b.client.reconnect();
    const bAgain = await follow(b.client);
    await sleep(800);
    expect(aEv.of('call.ended', call.id)).toEqual([]);

    // The tab closes: no socket anywhere.
    bEv.stop();
    bAgain.stop();
    await b.client.close();
    const ended = await aEv.next('call.ended', call.id);
    expect(ended.call).toMatchObject({ id: call.id, state: 'ended', endReason: 'failed' });
    // The caller is free again: a new call rings instead of answering busy.
    const next = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    expect(next.state).toBe('ringing');
    await a.client.api.calls.hangup.mutate({ callId: next.id });
    aEv.stop();
  });

  it('end a call its caller rings out as missed when the caller goes away', async () => {
    const { a, b, conv } = await pair(t);
    const [aEv, bEv] = await Promise.all([follow(a.client), follow(b.client)]);
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    await bEv.next('call.incoming', call.id);
    aEv.stop();
    await a.client.close();
    const ended = await bEv.next('call.ended', call.id);
    expect(ended.call).toMatchObject({ id: call.id, state: 'ended', endReason: 'missed', answeredAt: null });
    bEv.stop();
  });
});

describe.skipIf(!TEST_PG_URL || !TEST_REDIS_URL)('calls across two instances', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let s1: TestServer;
  let s2: TestServer;
  const env = { CALL_RING_TIMEOUT_MS: '1500' };
  beforeAll(async () => {
    database = await createTestDatabase();
    s1 = await startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true, env });
    s2 = await startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true, env });
  });
  afterAll(async () => {
    await s1?.close();
    await s2?.close();
    await database?.drop();
  });

  it('rings, answers and relays signals between instances', async () => {
    const a = await signUp(s1, 'A');
    const b = await signUp(s2, 'B');
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const [aEv, bEv] = await Promise.all([follow(a.client), follow(b.client)]);
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'video' });
    await bEv.next('call.incoming', call.id);
    await b.client.api.calls.accept.mutate({ callId: call.id });
    await aEv.next('call.accepted', call.id);
    await a.client.api.calls.signal.mutate({ callId: call.id, signal: { type: 'offer', sdp: 'x' } });
    expect(await bEv.nextSignal(call.id)).toMatchObject({ fromUserId: a.user.id, signal: { type: 'offer', sdp: 'x' } });
    await b.client.api.calls.hangup.mutate({ callId: call.id });
    await aEv.next('call.ended', call.id);
    aEv.stop();
    bEv.stop();
  });

  it('still ends a ringing call as missed when the instance that started it is gone', async () => {
    const s3 = await startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true, env });
    const a = await signUp(s3, 'A');
    const b = await signUp(s2, 'B');
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const bEv = await follow(b.client);
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    await bEv.next('call.incoming', call.id);
    await s3.close();
    const ended = await bEv.next('call.ended', call.id);
    expect(ended.call).toMatchObject({ state: 'ended', endReason: 'missed' });
    bEv.stop();
  });
});
