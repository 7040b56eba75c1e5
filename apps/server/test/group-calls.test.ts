/**
 * Group calls over the API, on PGlite and PostgreSQL: every member rung on every device, joins and
 * leaves mid-call, the last one out ends it, a member in another call shown busy (the call goes
 * on), at most 4 people, signals addressed to one participant reach only the device they joined
 * on, the "Ringing…" acknowledgement, and the call history (calls.history and the tracked
 * `call.logged` event of messages.onEvent).
 */
import { randomUUID } from 'node:crypto';
import type { ParleyClient, RouterOutputs } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_KINDS,
  errorCode,
  signUp,
  sleep,
  startTestServer,
  TEST_REDIS_URL,
  waitFor,
  type TestServer,
} from './helpers.js';

type Yield<T> = T extends AsyncIterable<infer U> ? U : never;
type CallEvent = Yield<RouterOutputs['calls']['onEvent']>;
type Call = RouterOutputs['calls']['start'];
/** The events of one type (some event shapes cover several types, so Extract would not do). */
type Of<K extends CallEvent['type']> = CallEvent & { type: K };

async function follow(client: ParleyClient) {
  const received: CallEvent[] = [];
  let started = false;
  let failed: unknown = null;
  const sub = client.api.calls.onEvent.subscribe(undefined, {
    onStarted: () => (started = true),
    onData: (event) => received.push(event),
    onError: (err) => (failed = err),
  });
  await waitFor(() => started || failed);
  if (failed) throw failed;
  const about = (callId: string) => received.filter((e) => ('call' in e ? e.call.id : e.callId) === callId);
  return {
    received,
    stop: () => sub.unsubscribe(),
    of: (type: CallEvent['type'], callId: string) => about(callId).filter((e) => e.type === type),
    next: <K extends CallEvent['type']>(type: K, callId: string, where: (e: Of<K>) => boolean = () => true) =>
      waitFor(() => about(callId).find((e): e is Of<K> => e.type === type && where(e as Of<K>))),
  };
}

/** The logged (tracked) events of messages.onEvent. */
async function followLog(client: ParleyClient) {
  const received: { type: string; call?: Call }[] = [];
  let started = false;
  const sub = client.api.messages.onEvent.subscribe(undefined, {
    onStarted: () => (started = true),
    onData: (envelope) => received.push((envelope as { data: { type: string; call?: Call } }).data),
  });
  await waitFor(() => started);
  return { received, stop: () => sub.unsubscribe() };
}

async function secondDevice(t: TestServer, who: { email: string; password: string }) {
  const client = t.client();
  await client.api.auth.login.mutate({ email: who.email, password: who.password });
  return client;
}

const active = (call: Call) =>
  call.participants
    .filter((p) => p.leftAt === null)
    .map((p) => p.userId)
    .sort();

describe.each(DB_KINDS)('group calls on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db, redis: Boolean(TEST_REDIS_URL) });
  });
  afterAll(() => t?.close());

  async function group(n: number) {
    const people = await Promise.all(Array.from({ length: n }, (_, i) => signUp(t, `Member ${i}`)));
    const [a, ...rest] = people;
    const conv = await a!.client.api.conversations.createGroup.mutate({
      title: 'Team',
      memberIds: rest.map((p) => p.user.id),
    });
    return { people, conv };
  }

  it('rings every member on every device; members join and leave; the last one out ends it; history on both sides', async () => {
    const { people, conv } = await group(3);
    const [a, b, c] = people as [(typeof people)[0], (typeof people)[0], (typeof people)[0]];
    const b2 = await secondDevice(t, b);
    const [aEv, bEv, b2Ev, cEv] = await Promise.all([follow(a.client), follow(b.client), follow(b2), follow(c.client)]);
    const [aLog, cLog] = await Promise.all([followLog(a.client), followLog(c.client)]);

    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'video' });
    expect(call).toMatchObject({
      kind: 'group',
      conversationId: conv.id,
      callerId: a.user.id,
      calleeId: null,
      state: 'ringing',
      busyUserIds: [],
    });
    expect(active(call)).toEqual([a.user.id]);
    for (const ev of [bEv, b2Ev, cEv]) expect((await ev.next('call.incoming', call.id)).call).toEqual(call);
    expect(aEv.of('call.incoming', call.id)).toEqual([]);

    // A rung device acknowledges: the caller learns it rings.
    await c.client.api.calls.ringing.mutate({ callId: call.id });
    expect(await aEv.next('call.ringing', call.id)).toEqual({
      type: 'call.ringing',
      callId: call.id,
      userId: c.user.id,
    });
    expect(await errorCode(a.client.api.calls.ringing.mutate({ callId: call.id }))).toBe('FORBIDDEN');

    // B joins: the call is active; every member hears it (B's other device stops ringing).
    const joined = await b.client.api.calls.join.mutate({ callId: call.id });
    expect(joined).toMatchObject({ state: 'active' });
    expect(joined.answeredAt).not.toBeNull();
    expect(active(joined)).toEqual([a.user.id, b.user.id].sort());
    for (const ev of [aEv, b2Ev, cEv])
      expect(await ev.next('call.joined', call.id, (e) => e.userId === b.user.id)).toMatchObject({ call: joined });
    // Joining twice is harmless; starting a call in the group while it lasts joins it.
    expect(active(await b.client.api.calls.join.mutate({ callId: call.id }))).toEqual([a.user.id, b.user.id].sort());
    const viaStart = await c.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    expect(viaStart.id).toBe(call.id);
    expect(active(viaStart)).toEqual([a.user.id, b.user.id, c.user.id].sort());

    // The caller leaves mid-call; the others go on.
    const afterA = await a.client.api.calls.hangup.mutate({ callId: call.id });
    expect(afterA.state).toBe('active');
    expect(active(afterA)).toEqual([b.user.id, c.user.id].sort());
    await cEv.next('call.left', call.id, (e) => e.userId === a.user.id);
    // Then comes back.
    expect(active(await a.client.api.calls.join.mutate({ callId: call.id }))).toEqual(
      [a.user.id, b.user.id, c.user.id].sort(),
    );
    // Signals and hangups of someone no longer in the call: refused, nothing ends.
    await b.client.api.calls.hangup.mutate({ callId: call.id });
    expect(
      await errorCode(
        b.client.api.calls.signal.mutate({
          callId: call.id,
          toUserId: c.user.id,
          signal: { type: 'offer', sdp: 'v=0' },
        }),
      ),
    ).toBe('CONFLICT');
    await a.client.api.calls.hangup.mutate({ callId: call.id });
    expect(aEv.of('call.ended', call.id)).toEqual([]);

    // The last one out ends it, for every member.
    const ended = await c.client.api.calls.hangup.mutate({ callId: call.id });
    expect(ended).toMatchObject({ state: 'ended', endReason: 'hangup' });
    expect(ended.participants.every((p) => p.leftAt !== null)).toBe(true);
    expect(ended.participants.map((p) => p.userId).sort()).toEqual([a.user.id, b.user.id, c.user.id].sort());
    for (const ev of [aEv, bEv, b2Ev]) expect((await ev.next('call.ended', call.id)).call).toEqual(ended);
    expect(await errorCode(b.client.api.calls.join.mutate({ callId: call.id }))).toBe('CONFLICT');

    // The history: a tracked event on every member's stream, and calls.history.
    for (const log of [aLog, cLog]) {
      expect(await waitFor(() => log.received.find((e) => e.type === 'call.logged' && e.call?.id === call.id))).toEqual(
        { type: 'call.logged', call: ended },
      );
    }
    const history = await b.client.api.calls.history.query({ conversationId: conv.id });
    expect(history[0]).toEqual(ended);
    for (const x of [aEv, bEv, b2Ev, cEv, aLog, cLog]) x.stop();
  });

  it('signals reach only the addressed participant, on the device they joined on', async () => {
    const { people, conv } = await group(3);
    const [a, b, c] = people as [(typeof people)[0], (typeof people)[0], (typeof people)[0]];
    const b2 = await secondDevice(t, b);
    const [aEv, bEv, b2Ev, cEv] = await Promise.all([follow(a.client), follow(b.client), follow(b2), follow(c.client)]);
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    await b2.api.calls.join.mutate({ callId: call.id }); // B answers on the second device
    await c.client.api.calls.join.mutate({ callId: call.id });

    const offer = { type: 'offer' as const, sdp: 'v=0 for b' };
    const state = { type: 'state' as const, muted: true, cameraOff: false, screen: false };
    await a.client.api.calls.signal.mutate({ callId: call.id, toUserId: b.user.id, signal: offer });
    await a.client.api.calls.signal.mutate({ callId: call.id, toUserId: c.user.id, signal: state });
    expect(await b2Ev.next('signal', call.id)).toEqual({
      type: 'signal',
      callId: call.id,
      fromUserId: a.user.id,
      signal: offer,
    });
    expect(await cEv.next('signal', call.id)).toEqual({
      type: 'signal',
      callId: call.id,
      fromUserId: a.user.id,
      signal: state,
    });
    // One more signal, which B's first device must not see either, then check nobody else got any.
    await c.client.api.calls.signal.mutate({
      callId: call.id,
      toUserId: a.user.id,
      signal: { type: 'answer', sdp: 'v=0 from c' },
    });
    await aEv.next('signal', call.id);
    await sleep(100);
    expect(bEv.of('signal', call.id)).toEqual([]);
    expect(b2Ev.of('signal', call.id)).toHaveLength(1);
    expect(cEv.of('signal', call.id)).toHaveLength(1);
    expect(aEv.of('signal', call.id)).toHaveLength(1);

    // Without a target, to oneself, or to someone not in the call: refused.
    const refused = [
      a.client.api.calls.signal.mutate({ callId: call.id, signal: offer }),
      a.client.api.calls.signal.mutate({ callId: call.id, toUserId: a.user.id, signal: offer }),
      a.client.api.calls.signal.mutate({ callId: call.id, toUserId: randomUUID(), signal: offer }),
    ].map((p) => errorCode(p));
    expect(await Promise.all(refused)).toEqual(['BAD_REQUEST', 'CONFLICT', 'CONFLICT']);

    for (const p of [a.client, b2, c.client]) await p.api.calls.hangup.mutate({ callId: call.id });
    for (const x of [aEv, bEv, b2Ev, cEv]) x.stop();
  });

  it('shows a member in another call as busy without refusing the call; at most 4 people; outsiders get NOT_FOUND', async () => {
    const { people, conv } = await group(6);
    const [a, b, c, d, e, f] = people as [
      (typeof people)[0],
      (typeof people)[0],
      (typeof people)[0],
      (typeof people)[0],
      (typeof people)[0],
      (typeof people)[0],
    ];
    // F is in a direct call with someone outside the group.
    const other = await signUp(t, 'Outside');
    const direct = await f.client.api.conversations.openDirect.mutate({ userId: other.user.id });
    const busyCall = await f.client.api.calls.start.mutate({ conversationId: direct.id, media: 'audio' });
    const fEv = await follow(f.client);

    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    expect(call.busyUserIds).toEqual([f.user.id]);
    expect(call.state).toBe('ringing');
    // F is not rung, and cannot join while busy.
    expect(await errorCode(f.client.api.calls.join.mutate({ callId: call.id }))).toBe('CONFLICT');
    expect(fEv.of('call.incoming', call.id)).toEqual([]);
    // A direct call to someone in a group call is busy too.
    const aDirect = await other.client.api.conversations.openDirect.mutate({ userId: a.user.id });
    await f.client.api.calls.hangup.mutate({ callId: busyCall.id });
    expect(await errorCode(other.client.api.calls.start.mutate({ conversationId: aDirect.id, media: 'audio' }))).toBe(
      'CONFLICT',
    );

    for (const p of [b, c, d]) await p.client.api.calls.join.mutate({ callId: call.id });
    const full = e.client.api.calls.join.mutate({ callId: call.id });
    expect(await errorCode(full)).toBe('CONFLICT');
    await expect(full).rejects.toThrow(/full/);
    // Declining only stops the ringing for that member.
    const declined = await e.client.api.calls.decline.mutate({ callId: call.id });
    expect(declined.state).toBe('active');
    expect(await errorCode(b.client.api.calls.decline.mutate({ callId: call.id }))).toBe('CONFLICT');

    const outsider = await signUp(t, 'Mallory');
    const mEv = await follow(outsider.client);
    const notFound = [
      outsider.client.api.calls.join.mutate({ callId: call.id }),
      outsider.client.api.calls.accept.mutate({ callId: call.id }),
      outsider.client.api.calls.decline.mutate({ callId: call.id }),
      outsider.client.api.calls.hangup.mutate({ callId: call.id }),
      outsider.client.api.calls.ringing.mutate({ callId: call.id }),
      outsider.client.api.calls.signal.mutate({
        callId: call.id,
        toUserId: a.user.id,
        signal: { type: 'offer', sdp: 'x' },
      }),
      outsider.client.api.calls.history.query({ conversationId: conv.id }),
      outsider.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' }),
      a.client.api.calls.join.mutate({ callId: randomUUID() }),
      a.client.api.calls.history.query({ conversationId: randomUUID() }),
    ].map((p) => errorCode(p));
    expect(await Promise.all(notFound)).toEqual(Array(10).fill('NOT_FOUND'));

    // E leaves the group: a call of a conversation they left no longer exists for them.
    await e.client.api.conversations.leave.mutate({ conversationId: conv.id });
    expect(await errorCode(e.client.api.calls.join.mutate({ callId: call.id }))).toBe('NOT_FOUND');

    for (const p of [a, b, c, d]) await p.client.api.calls.hangup.mutate({ callId: call.id });
    await sleep(100);
    expect(mEv.received).toEqual([]);
    fEv.stop();
    mEv.stop();
  });

  it('addresses a direct call signal to the device that answered only', async () => {
    const [a, b] = await Promise.all([signUp(t, 'A'), signUp(t, 'B')]);
    const b2 = await secondDevice(t, b);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const [bEv, b2Ev] = await Promise.all([follow(b.client), follow(b2)]);
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    expect(active(call)).toEqual([a.user.id]);
    const accepted = await b2.api.calls.accept.mutate({ callId: call.id });
    expect(active(accepted)).toEqual([a.user.id, b.user.id].sort());
    await a.client.api.calls.signal.mutate({
      callId: call.id,
      toUserId: b.user.id,
      signal: { type: 'offer', sdp: 'v=0' },
    });
    await b2Ev.next('signal', call.id);
    await sleep(100);
    expect(bEv.of('signal', call.id)).toEqual([]);
    expect(
      await errorCode(
        a.client.api.calls.signal.mutate({
          callId: call.id,
          toUserId: randomUUID(),
          signal: { type: 'offer', sdp: 'v=0' },
        }),
      ),
    ).toBe('NOT_FOUND');
    const ended = await a.client.api.calls.hangup.mutate({ callId: call.id });
    expect(ended.participants.every((p) => p.leftAt !== null)).toBe(true);
    // A direct call's history entry, on both sides.
    expect((await a.client.api.calls.history.query({ conversationId: conv.id }))[0]).toEqual(ended);
    expect(await b.client.api.calls.history.query({ conversationId: conv.id, limit: 1 })).toEqual([ended]);
    bEv.stop();
    b2Ev.stop();
  });
});

describe.each(DB_KINDS)('unanswered group calls on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      db,
      redis: Boolean(TEST_REDIS_URL),
      env: { CALL_RING_TIMEOUT_MS: '400', CALL_ABANDON_GRACE_MS: '300' },
    });
  });
  afterAll(() => t?.close());

  it('end as missed when nobody joins; a participant who goes away is taken out, and the last one ends it', async () => {
    const [a, b, c] = await Promise.all([signUp(t, 'A'), signUp(t, 'B'), signUp(t, 'C')]);
    const conv = await a.client.api.conversations.createGroup.mutate({ title: 'G', memberIds: [b.user.id, c.user.id] });
    const bEv = await follow(b.client);
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    // A device that subscribes while it rings hears it ring.
    const cLate = await follow(c.client);
    await cLate.next('call.incoming', call.id);
    const missed = await bEv.next('call.ended', call.id);
    expect(missed.call).toMatchObject({ state: 'ended', endReason: 'missed', answeredAt: null });
    expect(await errorCode(b.client.api.calls.join.mutate({ callId: call.id }))).toBe('CONFLICT');

    // An active call: B's tab closes; B is taken out; C goes on, then hangs up and it ends.
    const next = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
    await b.client.api.calls.join.mutate({ callId: next.id });
    await c.client.api.calls.join.mutate({ callId: next.id });
    bEv.stop();
    await b.client.close();
    const left = await cLate.next('call.left', next.id, (e) => e.userId === b.user.id);
    expect(left.call.state).toBe('active');
    await a.client.api.calls.hangup.mutate({ callId: next.id });
    const ended = await c.client.api.calls.hangup.mutate({ callId: next.id });
    expect(ended).toMatchObject({ state: 'ended', endReason: 'hangup' });
    cLate.stop();
  });
});
