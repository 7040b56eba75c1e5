/**
 * `messages.send` is one statement that reads the member list from the snapshot it starts with.
 * When members join or leave while it waits for the conversation's row lock, it must not fan the
 * message out to the old member list: a joiner would miss it, a leaver would still get it. The
 * test holds that lock from a second connection while changing the members, so the send waits
 * for certain (seen in pg_stat_activity), then lets it go.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, signUp, startTestServer, TEST_PG_URL, waitFor, wsClientAs, type TestServer } from './helpers.js';

describe.skipIf(!TEST_PG_URL)('a send racing a change of members (PostgreSQL)', () => {
  let t: TestServer;
  let admin: postgres.Sql;

  beforeAll(async () => {
    t = await startTestServer({ db: 'postgres' });
    // Two connections: one holds the lock in a transaction, the other watches the send wait.
    admin = postgres(t.databaseUrl!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await admin?.end();
    await t?.close();
  });

  it.each(['joins', 'leaves'] as const)(
    'fans out to the members at the moment the seq is taken when someone %s',
    async (change) => {
      const [a, b, c] = [await signUp(t, 'Racer A'), await signUp(t, 'Racer B'), await signUp(t, 'Racer C')];
      const initial = change === 'joins' ? [b.user.id] : [b.user.id, c.user.id];
      const group = await a.client.api.conversations.createGroup.mutate({
        title: `race ${change}`,
        memberIds: initial,
      });
      const body = `sent while someone ${change}`;

      const pending: { send?: Promise<{ id: string; seq: number }> } = {};
      await admin.begin(async (tx) => {
        await tx`select 1 from conversations where id = ${group.id} for update`;
        if (change === 'joins')
          await tx`insert into conversation_members (conversation_id, user_id) values (${group.id}, ${c.user.id})`;
        else await tx`delete from conversation_members where conversation_id = ${group.id} and user_id = ${c.user.id}`;
        await tx`update conversations set member_version = member_version + 1 where id = ${group.id}`;
        pending.send = a.client.api.messages.send.mutate({ conversationId: group.id, clientId: randomUUID(), body });
        // The send is waiting for the conversation's row lock.
        await waitFor(async () => {
          const [row] = await admin`
          select count(*)::int as n from pg_stat_activity
          where application_name = 'parley' and wait_event_type = 'Lock' and state = 'active'`;
          return row!.n > 0;
        });
      });
      const message = await pending.send!;
      expect(message.seq).toBe(1);

      const [event] = await admin<{ recipients: string[] }[]>`
      select recipients from events where payload->>'type' = 'message.new' and payload->'message'->>'id' = ${message.id}`;
      const expected = change === 'joins' ? [a.user.id, b.user.id, c.user.id] : [a.user.id, b.user.id];
      expect([...event!.recipients].sort()).toEqual(expected.sort());
      // History agrees: one message, seq 1.
      const history = await a.client.api.messages.list.query({ conversationId: group.id });
      expect(history.items.map((m) => [m.seq, m.body])).toEqual([[1, body]]);
    },
  );

  it('stores concurrent sends that share statements: each outcome is its own, seqs stay dense', async () => {
    const [a, b, c, outsider] = [
      await signUp(t, 'Batch A'),
      await signUp(t, 'Batch B'),
      await signUp(t, 'Batch C'),
      await signUp(t, 'Batch O'),
    ];
    const direct = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const group = await a.client.api.conversations.createGroup.mutate({
      title: 'batch',
      memberIds: [b.user.id, c.user.id],
    });
    const repeated = randomUUID();
    const send = (who: Pick<typeof a, 'client'>, conversationId: string, body: string, clientId = randomUUID()) =>
      who.client.api.messages.send.mutate({ conversationId, clientId, body });
    // A's sends go over one WebSocket: its frames arrive in the order sent, which HTTP batches
    // (at most 10 calls each, on parallel connections) do not promise.
    const aSocket = { client: wsClientAs(t, a.accessToken) };
    const results = await Promise.allSettled([
      ...Array.from({ length: 30 }, (_, i) => send(aSocket, direct.id, `direct ${i}`)),
      ...Array.from({ length: 30 }, (_, i) => send(b, group.id, `group ${i}`)),
      send(outsider, direct.id, 'not mine'),
      ...Array.from({ length: 5 }, () => send(c, group.id, 'once', repeated)),
    ]);
    const outsiderResult = results[60]!;
    expect(outsiderResult.status).toBe('rejected');
    expect(await errorCode(Promise.reject((outsiderResult as PromiseRejectedResult).reason))).toBe('NOT_FOUND');
    const others = results.filter((_, i) => i !== 60);
    expect(others.every((r) => r.status === 'fulfilled')).toBe(true);
    const copies = results.slice(61).map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id);
    expect(new Set(copies).size).toBe(1);

    for (const [conv, n] of [
      [direct.id, 30],
      [group.id, 31],
    ] as const) {
      const items = (await a.client.api.messages.list.query({ conversationId: conv, limit: 100 })).items;
      expect(items.map((m) => m.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
    // Each sender's messages keep the order they were sent in.
    const direct30 = (await a.client.api.messages.list.query({ conversationId: direct.id, limit: 100 })).items.map(
      (m) => m.body,
    );
    expect(direct30).toEqual(Array.from({ length: 30 }, (_, i) => `direct ${i}`));
  });
});
