import { appendEvents, openDatabase, prunedThrough, type Database } from '@parley/db';
import type { StoredEvent } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBus } from '../src/events/bus.js';
import { EventLog, type LoggedEvent } from '../src/events/event-log.js';
import { createLogger } from '../src/logger.js';

const user = '00000000-0000-4000-8000-000000000001';
const PARTITIONS = 4;

describe('EventLog', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ dataDir: '', inMemory: true });
    // Creates the partitions (a new log).
    const log = new EventLog({
      db: database.db,
      bus: new LocalBus(),
      logger: createLogger('silent'),
      partitions: PARTITIONS,
    });
    await log.start();
    log.stop();
  });
  afterAll(() => database?.close());

  const newLog = (opts: { pollIntervalMs?: number } = {}) =>
    new EventLog({
      db: database.db,
      bus: new LocalBus(),
      logger: createLogger('silent'),
      partitions: PARTITIONS,
      ...opts,
    });

  // Appended without publishing: each test decides which notifications arrive.
  const commit = async (n: number, partition = 0): Promise<LoggedEvent> => {
    const event: StoredEvent = { type: 'message.read', conversationId: user, userId: user, seq: n };
    const [id] = await database.db.transaction((tx) =>
      appendEvents(tx, [{ partition, recipients: [user], payload: event }]),
    );
    return { partition, id: id!, recipients: [user], event };
  };

  it('delivers in id order, once, when notifications arrive late, out of order or never', async () => {
    const log = newLog({ pollIntervalMs: 60_000 });
    await log.start();
    const seen: number[] = [];
    log.listen(user, (e) => seen.push(e.id));

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

  it('finds events whose notification was lost, by polling the counters of every partition', async () => {
    const log = newLog({ pollIntervalMs: 50 });
    await log.start();
    const seen: string[] = [];
    log.listen(user, (e) => seen.push(`${e.partition}:${e.id}`));
    const a = await commit(4, 1);
    const b = await commit(5, 3);
    await waitUntil(() => seen.length === 2);
    expect(seen.sort()).toEqual([`${a.partition}:${a.id}`, `${b.partition}:${b.id}`].sort());
    log.stop();
  });

  it('gives dense ids per partition under concurrent writers, each partition counting alone', async () => {
    const before = await newLogPositions();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => commit(100 + i, i % PARTITIONS)));
    for (let p = 0; p < PARTITIONS; p++) {
      const ids = results
        .filter((r) => r.partition === p)
        .map((r) => r.id)
        .sort((x, y) => x - y);
      expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => before[p]! + 1 + i));
    }
  });

  it('emits inside the caller transaction and publishes only after commit; a rollback logs and publishes nothing', async () => {
    const log = newLog({ pollIntervalMs: 60_000 });
    await log.start();
    const seen: LoggedEvent[] = [];
    log.listen(user, (e) => seen.push(e));
    const event: StoredEvent = { type: 'message.read', conversationId: user, userId: user, seq: 7 };
    await expect(
      log.transaction(async (tx) => {
        await log.emit(tx, [user], event);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const positions = await newLogPositions();
    expect(seen).toEqual([]);
    await log.transaction(async (tx) => {
      await log.emit(tx, [user, user], event);
      expect(seen).toEqual([]);
    });
    const partition = log.partitionOf(event);
    expect(seen).toEqual([{ partition, id: positions[partition]! + 1, recipients: [user], event }]);
    log.stop();
  });

  it('deletes old events in small batches, moves the horizon, and a lagging reader skips what is gone and says so', async () => {
    const log = newLog({ pollIntervalMs: 60_000 });
    await log.start();
    const gaps: [number, number][] = [];
    log.onGap((p, head) => gaps.push([p, head]));
    const seen: number[] = [];
    log.listen(user, (e) => e.partition === 2 && seen.push(e.id));
    const old = [];
    for (let i = 0; i < 3; i++) old.push(await commit(200 + i, 2));
    // Everything so far is older than "0 ms": retention takes it all.
    expect(await log.pruneOlderThan(0)).toBeGreaterThanOrEqual(3);
    expect((await prunedThrough(database.db))[2]).toBe(old[2]!.id);
    const fresh = await commit(300, 2);
    // This reader never saw the old ones: it hears of the fresh one, finds the gap deleted, goes on.
    log.published(fresh);
    await waitUntil(() => seen.length === 1);
    expect(seen).toEqual([fresh.id]);
    expect(gaps).toEqual([[2, old[2]!.id]]);
    log.stop();
  });

  const newLogPositions = async () => {
    const log = newLog({ pollIntervalMs: 60_000 });
    await log.start();
    log.stop();
    return log.positions;
  };
});

async function waitUntil(check: () => boolean, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
