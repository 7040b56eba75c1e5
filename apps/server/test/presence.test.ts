import type { ParleyClient } from '@parley/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  DB_KINDS,
  signUp,
  startTestServer,
  TEST_PG_URL,
  TEST_REDIS_URL,
  waitFor,
  type TestServer,
} from './helpers.js';

type Entry = { userId: string; online: boolean; lastSeenAt: string | null };
type PresenceEvent = { type: 'snapshot'; users: Entry[] } | ({ type: 'update' } & Entry);

/** Follows `presence.onChange` (which also opens the client's socket: the user is online). */
async function watch(client: ParleyClient) {
  const received: PresenceEvent[] = [];
  let failed: unknown = null;
  const sub = client.api.presence.onChange.subscribe(undefined, {
    onData: (event) => received.push(event as PresenceEvent),
    onError: (err) => (failed = err),
  });
  await waitFor(() => received.length > 0 || failed);
  if (failed) throw failed;
  const first = received[0]!;
  if (first.type !== 'snapshot') throw new Error('The first event must be the snapshot');
  const updates = (userId: string) =>
    received.flatMap((e) =>
      e.type === 'update' && e.userId === userId ? [{ online: e.online, lastSeenAt: e.lastSeenAt }] : [],
    );
  return {
    received,
    snapshot: [...first.users].sort((x, y) => x.userId.localeCompare(y.userId)),
    updates,
    /** Waits for the `n`th update (1-based) about `userId`. */
    update: (userId: string, n = 1) => waitFor(() => updates(userId)[n - 1]),
    stop: () => sub.unsubscribe(),
  };
}

const byId = (ids: string[]) => [...ids].sort();

describe.each(DB_KINDS)('presence on one instance (%s, in process)', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db });
  });
  afterAll(() => t?.close());

  it('snapshots the people the viewer shares a conversation with, then updates about them only', async () => {
    const a = await signUp(t, 'Ann');
    const b = await signUp(t, 'Ben');
    const d = await signUp(t, 'Dee');
    const stranger = await signUp(t, 'Stranger');
    await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    await d.client.api.conversations.createGroup.mutate({ title: 'Club', memberIds: [a.user.id] });

    const aw = await watch(a.client);
    expect(aw.snapshot).toEqual(
      byId([b.user.id, d.user.id]).map((userId) => ({ userId, online: false, lastSeenAt: null })),
    );

    const strangerWatch = await watch(stranger.client);
    expect(strangerWatch.snapshot).toEqual([]);
    const bw = await watch(b.client);
    expect(bw.snapshot).toEqual([{ userId: a.user.id, online: true, lastSeenAt: null }]);
    expect(await aw.update(b.user.id)).toEqual({ online: true, lastSeenAt: null });
    expect((await a.client.api.users.byId.query({ id: b.user.id })).online).toBe(true);

    await b.client.close();
    const offline = await aw.update(b.user.id, 2);
    expect(offline.online).toBe(false);
    expect(offline.lastSeenAt).not.toBeNull();
    expect(new Date(offline.lastSeenAt!).toISOString()).toBe(offline.lastSeenAt);
    const seen = await waitFor(async () => {
      const user = await a.client.api.users.byId.query({ id: b.user.id });
      return user.lastSeenAt ? user : null;
    });
    expect(seen).toMatchObject({ online: false, lastSeenAt: offline.lastSeenAt });
    // The stranger came online and went unmentioned.
    expect(aw.updates(stranger.user.id)).toEqual([]);
    expect(aw.updates(b.user.id)).toHaveLength(2);

    // A new contact joins the watched set as soon as a conversation is shared.
    await a.client.api.conversations.openDirect.mutate({ userId: stranger.user.id });
    expect(await aw.update(stranger.user.id)).toEqual({ online: true, lastSeenAt: null });
    await stranger.client.close();
    expect((await aw.update(stranger.user.id, 2)).online).toBe(false);
    aw.stop();
  });
});

describe.skipIf(!TEST_PG_URL || !TEST_REDIS_URL)('presence across instances (PostgreSQL + Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let s1: TestServer;
  let s2: TestServer;
  // Small bounds so the tests see a dead instance swept quickly: heartbeat (and sweep) every 100 ms.
  const fast = { PRESENCE_HEARTBEAT_MS: '100', PRESENCE_DEAD_AFTER_MS: '600' };
  beforeAll(async () => {
    database = await createTestDatabase();
    s1 = await startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true, env: fast });
    s2 = await startTestServer({ db: 'postgres', databaseUrl: database.url, redis: true, env: fast });
  });
  afterAll(async () => {
    await s1?.close();
    await s2?.close();
    await database?.drop();
  });

  /** A user whose account exists; devices connect to any instance with the same credentials. */
  async function device(t: TestServer, who: { email: string; password: string }) {
    const client = t.client();
    await client.api.auth.login.mutate({ email: who.email, password: who.password });
    return client;
  }

  it('is online while a socket is open on any instance', async () => {
    const a = await signUp(s1, 'Ann');
    const b = await signUp(s2, 'Ben');
    await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const aw = await watch(a.client);
    expect(aw.snapshot).toEqual([{ userId: b.user.id, online: false, lastSeenAt: null }]);

    const onS2 = await watch(b.client);
    expect(onS2.snapshot).toEqual([{ userId: a.user.id, online: true, lastSeenAt: null }]);
    expect(await aw.update(b.user.id)).toEqual({ online: true, lastSeenAt: null });
    expect((await a.client.api.users.byId.query({ id: b.user.id })).online).toBe(true);

    // A second device on the other instance, then the first one leaves: still online.
    const b2 = await device(s1, b);
    const onS1 = await watch(b2);
    await b.client.close();
    expect((await a.client.api.users.byId.query({ id: b.user.id })).online).toBe(true);
    await b2.close();
    const offline = await aw.update(b.user.id, 2);
    expect(offline.online).toBe(false);
    expect(offline.lastSeenAt).not.toBeNull();
    expect(aw.updates(b.user.id)).toHaveLength(2);
    expect((await a.client.api.users.byId.query({ id: b.user.id })).online).toBe(false);
    onS1.stop();
    aw.stop();
  });

  it("takes a dead instance's users offline (unless online elsewhere) once its heartbeats stop", async () => {
    // Presence on s3 writes through a connection of its own that the test can cut.
    const s3Presence = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const s3 = await startTestServer({
      db: 'postgres',
      databaseUrl: database.url,
      redis: true,
      env: fast,
      presenceRedis: s3Presence,
    });
    try {
      const a = await signUp(s1, 'Ann');
      const b = await signUp(s3, 'Ben');
      const c = await signUp(s3, 'Cy');
      await a.client.api.conversations.createGroup.mutate({ title: 'Team', memberIds: [b.user.id, c.user.id] });
      const aw = await watch(a.client);
      await watch(b.client);
      await watch(c.client);
      await watch(await device(s2, c)); // c is also on a healthy instance
      await aw.update(b.user.id);
      await aw.update(c.user.id);

      // Death without goodbye: s3's presence loses Redis for good (no more heartbeats, nothing
      // written, as after a crash) while its sockets stay open.
      s3Presence.disconnect();

      const offline = await aw.update(b.user.id, 2);
      expect(offline.online).toBe(false);
      expect(offline.lastSeenAt).not.toBeNull();
      const stored = await waitFor(async () => (await a.client.api.users.byId.query({ id: b.user.id })).lastSeenAt);
      expect(stored).toBe(offline.lastSeenAt);
      expect((await a.client.api.users.byId.query({ id: b.user.id })).online).toBe(false);
      // c went offline on the dead instance only: still online, and no update said otherwise.
      expect(aw.updates(c.user.id)).toEqual([{ online: true, lastSeenAt: null }]);
      expect((await a.client.api.users.byId.query({ id: c.user.id })).online).toBe(true);
      aw.stop();
    } finally {
      await s3.close();
    }
  });

  it('takes its users offline at once on a graceful shutdown, without waiting for the bound', async () => {
    // This instance would only be declared dead after a minute; its users must go offline at once.
    const s4 = await startTestServer({
      db: 'postgres',
      databaseUrl: database.url,
      redis: true,
      env: { PRESENCE_HEARTBEAT_MS: '1000', PRESENCE_DEAD_AFTER_MS: '60000' },
    });
    const a = await signUp(s1, 'Ann');
    const b = await signUp(s4, 'Ben');
    await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const aw = await watch(a.client);
    await watch(b.client);
    await aw.update(b.user.id);
    await s4.close();
    expect((await aw.update(b.user.id, 2)).online).toBe(false);
    aw.stop();
  });
});
