/**
 * Watches PostgreSQL and logs when it goes away and comes back, so that a person reading the logs
 * knows what to do. postgres.js reconnects by itself on the next query; Redis (ioredis) reconnects
 * by itself too and the bus logs its own connection errors and recoveries.
 */
import type { Logger, Services } from '@parley/api';
import type { Database } from '@parley/db';

/** A ping that gives up: a database that drops packets would otherwise hang it for the connect timeout. */
export function pingDatabase(database: Database, timeoutMs = 3000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    database.ping(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Checks every `intervalMs`, every second while the database is down (so recovery is logged promptly). */
export function watchDatabase(database: Database, logger: Logger, intervalMs = 5000): () => void {
  if (database.kind !== 'postgres') return () => {};
  let down: { since: number; error: string } | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = async () => {
    try {
      await pingDatabase(database);
      if (down) {
        logger.info({ downForMs: Date.now() - down.since }, 'PostgreSQL reachable again; queries resumed');
        down = null;
      }
    } catch (err) {
      const error = (err as Error).message;
      if (!down) {
        down = { since: Date.now(), error };
        logger.error(
          { err: error },
          'PostgreSQL unreachable: requests fail with 500 and /readyz answers 503 until it is back; ' +
            'check that the database is running and that DATABASE_URL is right. Reconnecting automatically.',
        );
      }
    }
    if (!stopped) timer = setTimeout(() => void check(), down ? Math.min(1000, intervalMs) : intervalMs).unref();
  };
  timer = setTimeout(() => void check(), intervalMs).unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Logs once when Redis goes away and once when it is back (ioredis itself warns on every retry,
 * which says nothing about the consequences or what to check).
 */
export function watchRedis(bus: Pick<Services['bus'], 'isHealthy'>, logger: Logger, intervalMs = 1000): () => void {
  let downSince: number | null = null;
  const timer = setInterval(() => {
    const healthy = bus.isHealthy();
    if (!healthy && downSince === null) {
      downSince = Date.now();
      logger.error(
        'Redis unreachable: events from other instances, shared presence and rate limits wait for it and ' +
          '/readyz answers 503 until it is back (messages are still stored in PostgreSQL); check that Redis is ' +
          'running and that REDIS_URL is right. Reconnecting automatically.',
      );
    } else if (healthy && downSince !== null) {
      logger.info({ downForMs: Date.now() - downSince }, 'Redis reachable again; events between instances resumed');
      downSince = null;
    }
  }, intervalMs).unref();
  return () => clearInterval(timer);
}
