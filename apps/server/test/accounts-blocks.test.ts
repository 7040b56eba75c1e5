/**
 * Blocking and account deletion over the API. A blocked user cannot open a direct chat with the
 * blocker, write, type or call there, or see the blocker's presence, and every refusal looks like
 * a missing conversation (NOT_FOUND, same message); in groups both stay members. Deleting an
 * account erases its sessions, credentials and profile; its messages stay, from "Deleted account".
 */
import { randomUUID } from 'node:crypto';
import type { ParleyClient } from '@parley/client';
import { sql } from 'drizzle-orm';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
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

type Presence =
  | { type: 'snapshot'; users: { userId: string }[] }
  | { type: 'update'; userId: string; online: boolean; lastSeenAt: string | null };

/** Follows `presence.onChange` on `client`; `received` grows as events arrive. */
async function follow(client: ParleyClient) {
  const received: Presence[] = [];
  const sub = client.api.presence.onChange.subscribe(undefined, { onData: (e) => void received.push(e) });
  await waitFor(() => received.some((e) => e.type === 'snapshot'));
  const about = (userId: string, from = 0) =>
    received
      .slice(from)
      .flatMap((e) =>
        e.type === 'update' && e.userId === userId ? [{ online: e.online, lastSeenAt: e.lastSeenAt }] : [],
      );
  return { received, about, stop: () => sub.unsubscribe() };
}

async function failure(p: Promise<unknown>) {
  try {
    await p;
    return null;
  } catch (err) {
    const e = err as { message: string; data: { code: string; mfaRequired?: boolean } };
    return { code: e.data.code, message: e.message, mfaRequired: e.data.mfaRequired };
  }
}

describe.each(DB_KINDS)('blocking on %s', (db) => {
  let t: TestServer;
  let a: Awaited<ReturnType<typeof signUp>>; // the blocked
  let b: Awaited<ReturnType<typeof signUp>>; // the blocker
  let c: Awaited<ReturnType<typeof signUp>>;
  let direct: string;
  let group: string;
  let bSocket: ParleyClient;
  beforeAll(async () => {
    t = await startTestServer({ db });
    [a, b, c] = [await signUp(t, 'Annoying'), await signUp(t, 'Blocker'), await signUp(t, 'Carol')];
    direct = (await a.client.api.conversations.openDirect.mutate({ userId: b.user.id })).id;
    group = (await b.client.api.conversations.createGroup.mutate({ title: 'Club', memberIds: [a.user.id, c.user.id] }))
      .id;
    await a.client.api.messages.send.mutate({ conversationId: direct, clientId: randomUUID(), body: 'hello?' });
    // B is online: a live socket with a subscription.
    bSocket = wsClientAs(t, b.accessToken);
    bSocket.api.presence.onChange.subscribe(undefined, { onData: () => {} });
    await waitFor(async () => (await c.client.api.users.byId.query({ id: b.user.id })).online);
    expect(await b.client.api.users.block.mutate({ userId: a.user.id })).toEqual({ ok: true });
  });
  afterAll(() => t?.close());

  it('refuses the blocked user in the direct chat as if it did not exist', async () => {
    const missing = await failure(
      a.client.api.messages.send.mutate({ conversationId: randomUUID(), clientId: randomUUID(), body: 'x' }),
    );
    expect(missing?.code).toBe('NOT_FOUND');
    const before = await tableCounts(t);
    for (const p of [
      a.client.api.messages.send.mutate({ conversationId: direct, clientId: randomUUID(), body: 'are you there?' }),
      a.client.api.messages.typing.mutate({ conversationId: direct }),
      a.client.api.calls.start.mutate({ conversationId: direct, media: 'audio' }),
    ]) {
      expect(await failure(p)).toEqual(missing);
    }
    // A new direct chat with the blocker: as for someone who does not exist.
    const noUser = await failure(a.client.api.conversations.openDirect.mutate({ userId: randomUUID() }));
    expect(await failure(a.client.api.conversations.openDirect.mutate({ userId: b.user.id }))).toEqual(noUser);
    expect(await tableCounts(t)).toEqual(before);
    // The blocker is told why they cannot write there.
    expect(
      (await failure(b.client.api.messages.send.mutate({ conversationId: direct, clientId: randomUUID(), body: 'x' })))
        ?.code,
    ).toBe('FORBIDDEN');
  });

  it("hides the blocker's presence from the blocked user only", async () => {
    expect((await c.client.api.users.byId.query({ id: b.user.id })).online).toBe(true);
    expect(await a.client.api.users.byId.query({ id: b.user.id })).toMatchObject({ online: false, lastSeenAt: null });
    const seenByA = (await a.client.api.conversations.byId.query({ id: group })).members.find(
      (m) => m.id === b.user.id,
    );
    expect(seenByA).toMatchObject({ online: false, lastSeenAt: null });
    const seenByC = (await c.client.api.conversations.byId.query({ id: group })).members.find(
      (m) => m.id === b.user.id,
    );
    expect(seenByC?.online).toBe(true);

    const aSocket = wsClientAs(t, a.accessToken);
    const snapshot = await new Promise<{ users: { userId: string }[] }>((resolve) => {
      aSocket.api.presence.onChange.subscribe(undefined, {
        onData: (e) => {
          if (e.type === 'snapshot') resolve(e);
        },
      });
    });
    const ids = snapshot.users.map((u) => u.userId);
    expect(ids).toContain(c.user.id);
    expect(ids).not.toContain(b.user.id);
  });

  it('keeps both in a shared group, and lists and lifts the block', async () => {
    const sent = await a.client.api.messages.send.mutate({
      conversationId: group,
      clientId: randomUUID(),
      body: 'group hello',
    });
    expect((await b.client.api.messages.list.query({ conversationId: group })).items.map((m) => m.id)).toContain(
      sent.id,
    );
    expect((await b.client.api.users.blocked.query()).map((u) => u.id)).toEqual([a.user.id]);
    expect(await a.client.api.users.blocked.query()).toEqual([]);
    expect(await errorCode(b.client.api.users.block.mutate({ userId: b.user.id }))).toBe('BAD_REQUEST');
    expect(await errorCode(b.client.api.users.block.mutate({ userId: randomUUID() }))).toBe('NOT_FOUND');

    await b.client.api.users.unblock.mutate({ userId: a.user.id });
    expect(await b.client.api.users.blocked.query()).toEqual([]);
    await a.client.api.messages.send.mutate({ conversationId: direct, clientId: randomUUID(), body: 'thanks' });
    expect((await a.client.api.conversations.openDirect.mutate({ userId: b.user.id })).id).toBe(direct);
  });

  it('takes a block and its lifting into a presence stream that is already open', async () => {
    const aSocket = wsClientAs(t, a.accessToken);
    const feed = await follow(aSocket);
    const snapshot = feed.received.find((e) => e.type === 'snapshot');
    expect(snapshot?.type === 'snapshot' && snapshot.users.map((u) => u.userId)).toContain(b.user.id);
    const from = feed.received.length;

    await b.client.api.users.block.mutate({ userId: a.user.id });
    // The blocker goes offline, then Carol comes online: once A hears of Carol, the stream has
    // handled B's change too (one queue, in order) and must not have passed it on.
    bSocket.close();
    await waitFor(async () => !(await c.client.api.users.byId.query({ id: b.user.id })).online);
    const cSocket = wsClientAs(t, c.accessToken);
    cSocket.api.presence.onChange.subscribe(undefined, { onData: () => {} });
    await waitFor(() => feed.about(c.user.id, from).some((u) => u.online));
    // What a reconnect would show: B as never seen, and nothing after.
    expect(feed.about(b.user.id, from)).toEqual([{ online: false, lastSeenAt: null }]);

    await b.client.api.users.unblock.mutate({ userId: a.user.id });
    await waitFor(() => feed.about(b.user.id, from).length === 2);
    const lastSeenAt = (await c.client.api.users.byId.query({ id: b.user.id })).lastSeenAt;
    expect(lastSeenAt).not.toBeNull();
    expect(feed.about(b.user.id, from)[1]).toEqual({ online: false, lastSeenAt });
    feed.stop();
    aSocket.close();
    cSocket.close();
  });
});

describe.skipIf(!TEST_PG_URL || !TEST_REDIS_URL)('blocking across instances (PostgreSQL + Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let s1: TestServer;
  let s2: TestServer;
  beforeAll(async () => {
    database = await createTestDatabase();
    s1 = await startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true });
    s2 = await startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true });
  });
  afterAll(async () => {
    await s1?.close();
    await s2?.close();
    await database?.drop();
  });

  it('stops a stream on another instance from following the blocker', async () => {
    const a = await signUp(s2, 'Blocked');
    const b = await signUp(s1, 'Blocker');
    await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const feed = await follow(wsClientAs(s2, a.accessToken));
    const bSocket = wsClientAs(s1, b.accessToken);
    bSocket.api.presence.onChange.subscribe(undefined, { onData: () => {} });
    await waitFor(() => feed.about(b.user.id).some((u) => u.online));
    const from = feed.received.length;

    await b.client.api.users.block.mutate({ userId: a.user.id });
    await waitFor(() => feed.about(b.user.id, from).length > 0);
    expect(feed.about(b.user.id, from)).toEqual([{ online: false, lastSeenAt: null }]);
    await b.client.api.users.unblock.mutate({ userId: a.user.id });
    await waitFor(() => feed.about(b.user.id, from).length > 1);
    expect(feed.about(b.user.id, from)[1]).toEqual({ online: true, lastSeenAt: null });
    feed.stop();
    bSocket.close();
  });
});

describe.each(DB_KINDS)('account deletion on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db });
  });
  afterAll(() => t?.close());

  const rowsOf = async (table: string, userId: string) => {
    const res = await t.server.database.db.execute(
      sql`select count(*)::int as n from ${sql.identifier(table)} where user_id = ${userId}`,
    );
    const rows = (Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as { n: number }[];
    return Number(rows[0]!.n);
  };

  it('needs the password and the second factor, and changes nothing otherwise', async () => {
    const d = await signUp(t, 'Careful');
    const { secret } = await d.client.api.auth.totp.setup.mutate();
    await d.client.api.auth.totp.enable.mutate({ code: new TOTP({ secret: Secret.fromBase32(secret) }).generate() });
    const before = await tableCounts(t);
    expect((await failure(d.client.api.auth.deleteAccount.mutate({ password: 'wrong password' })))?.code).toBe(
      'UNAUTHORIZED',
    );
    expect(await failure(d.client.api.auth.deleteAccount.mutate({ password: d.password }))).toMatchObject({
      code: 'UNAUTHORIZED',
      mfaRequired: true,
    });
    expect(await tableCounts(t)).toEqual(before);
    expect((await d.client.api.auth.me.query()).displayName).toBe('Careful');
  });

  it('erases sessions, credentials and profile; the messages stay, from "Deleted account"', async () => {
    const d = await signUp(t, 'Leaving');
    const e = await signUp(t, 'Staying');
    await d.client.api.users.updateProfile.mutate({ about: 'I was here' });
    const phone = t.client();
    await phone.api.auth.login.mutate({ email: d.email, password: d.password });
    const chat = await d.client.api.conversations.openDirect.mutate({ userId: e.user.id });
    const sent = await d.client.api.messages.send.mutate({
      conversationId: chat.id,
      clientId: randomUUID(),
      body: 'goodbye',
    });
    await d.client.api.users.block.mutate({ userId: e.user.id });
    const { recoveryCodes } = await (async () => {
      const { secret } = await d.client.api.auth.totp.setup.mutate();
      return d.client.api.auth.totp.enable.mutate({ code: new TOTP({ secret: Secret.fromBase32(secret) }).generate() });
    })();

    expect(await d.client.api.auth.deleteAccount.mutate({ password: d.password, code: recoveryCodes[0]! })).toEqual({
      ok: true,
    });

    expect(await errorCode(d.client.api.auth.me.query())).toBe('UNAUTHORIZED');
    expect(await errorCode(phone.api.auth.me.query())).toBe('UNAUTHORIZED');
    expect(await errorCode(t.client().api.auth.login.mutate({ email: d.email, password: d.password }))).toBe(
      'UNAUTHORIZED',
    );
    expect(await e.client.api.users.search.query({ query: 'Leaving' })).toEqual([]);
    expect(await e.client.api.users.byId.query({ id: d.user.id })).toMatchObject({
      displayName: 'Deleted account',
      about: '',
    });
    const history = await e.client.api.messages.list.query({ conversationId: chat.id });
    expect(history.items.map((m) => [m.id, m.senderId, m.body])).toEqual([[sent.id, d.user.id, 'goodbye']]);
    const members = (await e.client.api.conversations.byId.query({ id: chat.id })).members;
    expect(members.find((m) => m.id === d.user.id)?.displayName).toBe('Deleted account');
    for (const table of ['recovery_codes', 'passkeys', 'email_tokens', 'push_subscriptions'])
      expect(await rowsOf(table, d.user.id), table).toBe(0);
    const active = await t.server.database.db.execute(
      sql`select count(*)::int as n from sessions where user_id = ${d.user.id} and revoked_at is null`,
    );
    expect(JSON.stringify(active)).toContain('"n":0');
    expect(await e.client.api.users.blocked.query()).toEqual([]);
    // The address is free again.
    await t.client().api.auth.register.mutate({ email: d.email, password: 'a new beginning', displayName: 'Back' });
  });
});
