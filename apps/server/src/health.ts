/**
 * Watches PostgreSQL and logs when it goes away and comes back, so that a person reading the logs
 * knows what to do. postgres.js reconnects by itself on the next query; Redis (ioredis) reconnects
 * by itself too and the bus logs its own connection errors and recoveries.
 */
import type { Logger } from '@parley/api';
import type { Database } from '@parley/db';

export function watchDatabase(database: Database, logger: Logger, intervalMs = 5000): () => void {
  if (database.kind !== 'postgres') return () => {};
  let down: { since: number; error: string } | null = null;
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      await database.ping();
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
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), intervalMs).unref();
  return () => clearInterval(timer);
}
