import { appendEvent, openDatabase, type Database } from '@parley/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBus } from '../src/events/bus.js';
import { EventLog, type LoggedEvent } from '../src/events/event-log.js';
import { createLogger } from '../src/logger.js';

const user = '00000000-0000-4000-8000-000000000001';

describe('EventLog', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ dataDir: '', inMemory: true });
  });
  afterAll(() => database?.close());

  // Appended without publishing: each test decides which notifications arrive.
  const commit = (n: number) => {
    const event = { type: 'message.read', conversationId: user, userId: user, seq: n } as const;
    return database.db.transaction((tx) => appendEvent(tx, [user], event)).then((id) => ({ id, recipients: [user], event }));
  };

  it('delivers in id order, once, when notifications arrive late, out of order or never', async () => {
    const log = new EventLog({ db: database.db, bus: new LocalBus(), logger: createLogger('silent'), pollIntervalMs: 60_000 });
    await log.start();
    const seen: number[] = [];
    log.listen(user, (e: LoggedEvent) => seen.push(e.id));

    const e1 = await commit(1);
    const e2 = await commit(2);
    const e3 = await commit(3);
    // The notification of 3 arrives first (1 and 2 were committed by another instance whose
    // notices are late): the log reads the gap from the database before delivering 3.
    log.published(e3);
    await waitUntil(() => seen.length === 3);
    log.published(e1);
    log.published(e2);
    expect(seen).toEqual([e1.id, e2.id, e3.id]);
    log.stop();
  });

  it('finds events whose notification was lost, by polling the clock', async () => {
    const log = new EventLog({ db: database.db, bus: new LocalBus(), logger: createLogger('silent'), pollIntervalMs: 50 });
    await log.start();
    const seen: number[] = [];
    log.listen(user, (e) => seen.push(e.id));
    const e = await commit(4);
    await waitUntil(() => seen.length === 1);
    expect(seen).toEqual([e.id]);
    log.stop();
  });

  it('gives dense ids under concurrent writers', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => commit(100 + i)));
    const ids = results.map((r) => r.id).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => ids[0]! + i));
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
