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
import { signUp, startTestServer, TEST_PG_URL, waitFor, type TestServer } from './helpers.js';

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

  it.each(['joins', 'leaves'] as const)('fans out to the members at the moment the seq is taken when someone %s', async (change) => {
    const [a, b, c] = [await signUp(t, 'Racer A'), await signUp(t, 'Racer B'), await signUp(t, 'Racer C')];
    const initial = change === 'joins' ? [b.user.id] : [b.user.id, c.user.id];
    const group = await a.client.api.conversations.createGroup.mutate({ title: `race ${change}`, memberIds: initial });
    const body = `sent while someone ${change}`;

    const pending: { send?: Promise<{ id: string; seq: number }> } = {};
    await admin.begin(async (tx) => {
      await tx`select 1 from conversations where id = ${group.id} for update`;
      if (change === 'joins') await tx`insert into conversation_members (conversation_id, user_id) values (${group.id}, ${c.user.id})`;
      else await tx`delete from conversation_members where conversation_id = ${group.id} and user_id = ${c.user.id}`;
      await tx`update conversations set member_version = member_version + 1 where id = ${group.id}`;
      pending.send = a.client.api.messages.send.mutate({ conversationId: group.id, clientId: randomUUID(), body });
      // The send is waiting for the conversation's row lock.
      await waitFor(async () => {
        const [row] = await admin`
          select count(*)::int as n from pg_stat_activity
          where application_name = 'parley' and wait_event_type = 'Lock' and query like '%insert into messages%'`;
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
  });
});
