import { randomUUID } from 'node:crypto';
import { followEvents, type ParleyEvent } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_KINDS,
  errorCode,
  signUp,
  sleep,
  startTestServer,
  tableCounts,
  waitFor,
  type TestServer,
} from './helpers.js';

type Received = { id: string | null; event: ParleyEvent };

function collect(api: Parameters<typeof followEvents>[0], lastEventId?: string | null) {
  const received: Received[] = [];
  let started = false;
  const follower = followEvents(api, {
    lastEventId: lastEventId ?? null,
    onEvent: (event, id) => received.push({ id, event }),
    onStarted: () => (started = true),
  });
  return { received, follower, started: () => waitFor(() => started) };
}

const newMessages = (r: Received[], conversationId?: string) =>
  r.flatMap((x) =>
    x.event.type === 'message.new' && (!conversationId || x.event.message.conversationId === conversationId)
      ? [x.event.message]
      : [],
  );

describe.each(DB_KINDS)('messaging on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db });
  });
  afterAll(() => t?.close());

  it('opens one direct conversation when both sides race to open it', async () => {
    const a = await signUp(t, 'Ada');
    const b = await signUp(t, 'Bob');
    const results = await Promise.all([
      a.client.api.conversations.openDirect.mutate({ userId: b.user.id }),
      b.client.api.conversations.openDirect.mutate({ userId: a.user.id }),
      a.client.api.conversations.openDirect.mutate({ userId: b.user.id }),
      b.client.api.conversations.openDirect.mutate({ userId: a.user.id }),
    ]);
    expect(new Set(results.map((c) => c.id)).size).toBe(1);
    expect(results[0]!.kind).toBe('direct');
    expect(results[0]!.members.map((m) => m.id).sort()).toEqual([a.user.id, b.user.id].sort());
    expect(await errorCode(a.client.api.conversations.openDirect.mutate({ userId: a.user.id }))).toBe('BAD_REQUEST');
    expect(await errorCode(a.client.api.conversations.openDirect.mutate({ userId: randomUUID() }))).toBe('NOT_FOUND');
  });

  it('sends with dense seqs, trims bodies, rejects bad bodies, and is idempotent on clientId', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const m1 = await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: '  hello  ',
    });
    expect(m1).toMatchObject({ seq: 1, body: 'hello', senderId: a.user.id, conversationId: conv.id });
    const before = await tableCounts(t);
    for (const body of ['', '   ', 'x'.repeat(4001)]) {
      expect(
        await errorCode(a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body })),
      ).toBe('BAD_REQUEST');
    }
    expect(
      await errorCode(a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: 'nope', body: 'x' })),
    ).toBe('BAD_REQUEST');
    expect(await tableCounts(t)).toEqual(before);
    expect(
      (
        await a.client.api.messages.send.mutate({
          conversationId: conv.id,
          clientId: randomUUID(),
          body: 'y'.repeat(4000),
        })
      ).seq,
    ).toBe(2);

    const clientId = randomUUID();
    const copies = await Promise.all(
      Array.from({ length: 8 }, () =>
        b.client.api.messages.send.mutate({ conversationId: conv.id, clientId, body: 'once' }),
      ),
    );
    expect(new Set(copies.map((m) => m.id)).size).toBe(1);
    const again = await b.client.api.messages.send.mutate({ conversationId: conv.id, clientId, body: 'once' });
    expect(again.id).toBe(copies[0]!.id);
    const history = await a.client.api.messages.list.query({ conversationId: conv.id });
    expect(history.items.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(history.items.filter((m) => m.clientId === clientId)).toHaveLength(1);
  });

  it('pages history by seq and lists conversations newest first with unread counts', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const c = await signUp(t);
    const older = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const group = await a.client.api.conversations.createGroup.mutate({
      title: ' Team ',
      memberIds: [b.user.id, c.user.id],
    });
    expect(group.title).toBe('Team');
    const renamed = await b.client.api.conversations.rename.mutate({ conversationId: group.id, title: 'Crew' });
    expect(renamed.title).toBe('Crew');
    expect((await c.client.api.conversations.byId.query({ id: group.id })).title).toBe('Crew');
    for (let i = 1; i <= 7; i++) {
      await b.client.api.messages.send.mutate({ conversationId: older.id, clientId: randomUUID(), body: `m${i}` });
    }
    const page1 = await a.client.api.messages.list.query({ conversationId: older.id, limit: 3 });
    expect(page1.items.map((m) => m.seq)).toEqual([5, 6, 7]);
    expect(page1.hasMore).toBe(true);
    const page2 = await a.client.api.messages.list.query({ conversationId: older.id, limit: 5, beforeSeq: 5 });
    expect(page2.items.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(page2.hasMore).toBe(false);

    const list = await a.client.api.conversations.list.query({});
    expect(list.items.map((x) => x.id)).toEqual([older.id, group.id]);
    expect(list.items[0]).toMatchObject({ unreadCount: 7, lastReadSeq: 0, lastMessage: { seq: 7, body: 'm7' } });
    const paged = await a.client.api.conversations.list.query({ limit: 1 });
    expect(paged.items.map((x) => x.id)).toEqual([older.id]);
    const rest = await a.client.api.conversations.list.query({ limit: 1, cursor: paged.nextCursor });
    expect(rest.items.map((x) => x.id)).toEqual([group.id]);
    expect(rest.nextCursor).toBeNull();
    expect(await errorCode(a.client.api.conversations.list.query({ cursor: 'garbage' }))).toBe('BAD_REQUEST');

    expect(await a.client.api.messages.markRead.mutate({ conversationId: older.id, seq: 5 })).toEqual({
      lastReadSeq: 5,
    });
    expect(await a.client.api.messages.markRead.mutate({ conversationId: older.id, seq: 2 })).toEqual({
      lastReadSeq: 5,
    });
    expect(await a.client.api.messages.markRead.mutate({ conversationId: older.id, seq: 999 })).toEqual({
      lastReadSeq: 7,
    });
    expect((await a.client.api.conversations.byId.query({ id: older.id })).unreadCount).toBe(0);
  });

  it('answers NOT_FOUND to a non-member from every procedure and changes nothing', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const outsider = await signUp(t);
    const group = await a.client.api.conversations.createGroup.mutate({ title: 'Private', memberIds: [b.user.id] });
    const direct = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const o = outsider.client.api;
    const before = await tableCounts(t);
    for (const id of [group.id, direct.id, randomUUID()]) {
      const calls = [
        () => o.conversations.byId.query({ id }),
        () => o.conversations.addMembers.mutate({ conversationId: id, userIds: [outsider.user.id] }),
        () => o.conversations.rename.mutate({ conversationId: id, title: 'Mine' }),
        () => o.conversations.leave.mutate({ conversationId: id }),
        () => o.messages.list.query({ conversationId: id }),
        () => o.messages.send.mutate({ conversationId: id, clientId: randomUUID(), body: 'hi' }),
        () => o.messages.markRead.mutate({ conversationId: id, seq: 1 }),
        () => o.messages.typing.mutate({ conversationId: id }),
      ];
      for (const call of calls) expect(await errorCode(call())).toBe('NOT_FOUND');
    }
    expect(await tableCounts(t)).toEqual(before);
    expect(await errorCode(a.client.api.conversations.rename.mutate({ conversationId: direct.id, title: 'x' }))).toBe(
      'BAD_REQUEST',
    );
  });

  it('streams events live, sends typing to the others only, and resumes with lastEventId', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const bWs = t.client({ transport: 'ws' });
    bWs.setSession({
      accessToken: b.accessToken,
      accessTokenExpiresAt: new Date(Date.now() + 14 * 60_000).toISOString(),
    });
    const aWs = t.client({ transport: 'ws' });
    aWs.setSession({
      accessToken: a.accessToken,
      accessTokenExpiresAt: new Date(Date.now() + 14 * 60_000).toISOString(),
    });
    const bStream = collect(bWs.api);
    const aStream = collect(aWs.api);
    await Promise.all([bStream.started(), aStream.started()]);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    await waitFor(() => bStream.received.some((r) => r.event.type === 'conversation.updated'));
    await a.client.api.messages.typing.mutate({ conversationId: conv.id });
    await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'one' });
    await waitFor(() => newMessages(bStream.received).length === 1 && newMessages(aStream.received).length === 1);
    expect(bStream.received.some((r) => r.event.type === 'typing' && r.id === null)).toBe(true);
    expect(aStream.received.some((r) => r.event.type === 'typing')).toBe(false);
    // Typing is stamped on the clock that stamps messages: the typing that preceded "one" is older
    // than it, so a client that gets the two out of order can tell.
    const typed = bStream.received.find((r) => r.event.type === 'typing')!.event as { at: string };
    expect(Date.parse(typed.at)).toBeLessThanOrEqual(Date.parse(newMessages(bStream.received)[0]!.createdAt));

    // b goes away; messages arrive meanwhile; b comes back with its last event id.
    const resumeFrom = bStream.follower.lastEventId;
    bStream.follower.stop();
    for (const body of ['two', 'three', 'four']) {
      await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body });
    }
    // Everyone's read position comes with the conversation, so "Seen" survives a reload.
    const readsSeenByA = async () =>
      Object.fromEntries(
        (await a.client.api.conversations.byId.query({ id: conv.id })).memberReads.map((r) => [
          r.userId,
          r.lastReadSeq,
        ]),
      );
    expect(await readsSeenByA()).toEqual({ [a.user.id]: 4, [b.user.id]: 0 });
    await b.client.api.messages.markRead.mutate({ conversationId: conv.id, seq: 4 });
    expect(await readsSeenByA()).toEqual({ [a.user.id]: 4, [b.user.id]: 4 });
    expect(
      (await a.client.api.conversations.list.query({})).items.find((x) => x.id === conv.id)?.memberReads,
    ).toHaveLength(2);
    const resumed = collect(bWs.api, resumeFrom);
    await waitFor(() => resumed.received.some((r) => r.event.type === 'message.read'));
    expect(newMessages(resumed.received).map((m) => m.body)).toEqual(['two', 'three', 'four']);
    const ids = resumed.received.filter((r) => r.id).map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(await errorCode(bWs.api.auth.me.query())).toBe('no error');
    resumed.follower.stop();
    aStream.follower.stop();
  });

  it("stops a leaver's events at once and tells the members, the leaver included", async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const c = await signUp(t);
    const group = await a.client.api.conversations.createGroup.mutate({ title: 'G', memberIds: [b.user.id] });
    const cWs = t.client({ transport: 'ws' });
    cWs.setSession({
      accessToken: c.accessToken,
      accessTokenExpiresAt: new Date(Date.now() + 14 * 60_000).toISOString(),
    });
    const stream = collect(cWs.api);
    await stream.started();
    const added = await a.client.api.conversations.addMembers.mutate({
      conversationId: group.id,
      userIds: [c.user.id],
    });
    expect(added.members).toHaveLength(3);
    await a.client.api.messages.send.mutate({ conversationId: group.id, clientId: randomUUID(), body: 'welcome' });
    await waitFor(() => newMessages(stream.received).length === 1);
    // New members see history from the start.
    expect((await c.client.api.messages.list.query({ conversationId: group.id })).items).toHaveLength(1);
    await c.client.api.conversations.leave.mutate({ conversationId: group.id });
    await a.client.api.messages.send.mutate({ conversationId: group.id, clientId: randomUUID(), body: 'after' });
    await waitFor(() =>
      stream.received.some((r) => r.event.type === 'conversation.updated' && r.event.conversation.members.length === 2),
    );
    await sleep(200);
    expect(newMessages(stream.received).map((m) => m.body)).toEqual(['welcome']);
    expect(await errorCode(c.client.api.conversations.byId.query({ id: group.id }))).toBe('NOT_FOUND');
    stream.follower.stop();
  });

  it("ends another device's subscription within a second of logout", async () => {
    const a = await signUp(t);
    const device = t.client({ transport: 'ws' });
    device.setSession({
      accessToken: a.accessToken,
      accessTokenExpiresAt: new Date(Date.now() + 14 * 60_000).toISOString(),
    });
    const ended: string[] = [];
    let started = false;
    const sub = device.api.messages.onEvent.subscribe(undefined, {
      onError: (e) => ended.push((e as { data?: { code?: string } }).data?.code ?? 'error'),
      onComplete: () => ended.push('complete'),
      onStarted: () => (started = true),
    });
    await waitFor(() => started);
    const other = t.client();
    await other.api.auth.login.mutate({ email: a.email, password: a.password });
    await a.client.api.auth.logoutAll.mutate();
    const start = Date.now();
    // The socket is closed; the client's reconnect no longer authenticates, so the stream ends.
    await waitFor(() => ended.length > 0, { timeoutMs: 1000 });
    expect(Date.now() - start).toBeLessThan(1000);
    expect(ended[0]).toBe('UNAUTHORIZED');
    sub.unsubscribe();
  });
});
