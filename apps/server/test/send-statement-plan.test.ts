/**
 * The send statement's checks (membership, the clientId, the quoted message, blocks) must probe
 * their indexes once per message. As plain subqueries the planner hashed them instead: every send
 * then read the whole `messages` table (jsonb_to_recordset is estimated at 100 rows, so against a
 * few thousand messages one scan looked cheaper than 100 probes). Counted with PostgreSQL's own
 * statistics: `pg_stat_user_tables.seq_scan` of `messages` across lone sends, on a database holding
 * 5,000 analyzed messages.
 */
import { randomUUID } from 'node:crypto';
import {
  ensureEventPartitions,
  openDatabase,
  seedGroups,
  seedMessages,
  seedUsersWithSessions,
  storeMessages,
} from '@parley/db';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_PG_URL } from './helpers.js';

const SENDS = 50;

describe.skipIf(!TEST_PG_URL)('the send statement on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = postgres(database.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await admin?.end();
    await database?.drop();
  });

  /** `messages`' sequential scans and inserted rows, as counted by the backends that have flushed their statistics (they do on exit). */
  const messageStats = async () => {
    const [row] = await admin<{ scans: string; inserted: string }[]>`
      select seq_scan::text as scans, n_tup_ins::text as inserted from pg_stat_user_tables where relname = 'messages'`;
    return { scans: Number(row!.scans), inserted: Number(row!.inserted) };
  };

  it('probes indexes and never scans all of messages, one send after another', async () => {
    const { db, close } = await openDatabase({ databaseUrl: database.url, dataDir: '.', poolSize: 1 });
    await ensureEventPartitions(db, 16);
    const users = await seedUsersWithSessions(
      db,
      Array.from({ length: 4 }, (_, i) => ({
        email: `plan-${i}@example.test`,
        displayName: `Plan ${i}`,
        passwordHash: 'not used',
        sessionExpiresAt: new Date(Date.now() + 3600_000).toISOString(),
        refreshTokenHash: randomUUID(),
      })),
    );
    const [conversationId] = await seedGroups(db, [{ title: 'plan', memberIds: users.map((u) => u.userId) }]);
    await seedMessages(db, [conversationId!], 5_000, ['plan', 'probe', 'index', 'scan']);
    await close();
    await admin`analyze`;
    await expect.poll(async () => (await messageStats()).inserted, { timeout: 5_000 }).toBe(5_000);

    const before = await messageStats();
    const { db: sending, close: closeSending } = await openDatabase({
      databaseUrl: database.url,
      dataDir: '.',
      poolSize: 1,
    });
    const senderId = users[0]!.userId;
    for (let i = 0; i < SENDS; i++) {
      const id = randomUUID();
      const clientId = randomUUID();
      const createdAt = new Date().toISOString();
      const body = `send ${i}`;
      const message = { id, conversationId: conversationId!, senderId, clientId, body, createdAt };
      const event = {
        type: 'message.new',
        message: { ...message, seq: 0, replyTo: null, attachments: [], editedAt: null, deletedAt: null, reactions: [] },
      };
      const [result] = await storeMessages(sending, [{ ...message, replyToId: null, event, partition: 0 }]);
      expect(result!.kind).toBe('stored');
    }
    await closeSending();
    // Once the sending backend's counts are in (its inserts show), its scans are too.
    await expect.poll(async () => (await messageStats()).inserted, { timeout: 5_000 }).toBe(before.inserted + SENDS);
    expect((await messageStats()).scans - before.scans).toBeLessThan(SENDS / 10);
  });
});
