import type { Config } from '@parley/config';
import type { Database } from '@parley/db';
import { PasswordHasher } from '../auth/passwords.js';
import { TokenService } from '../auth/tokens.js';
import { LocalBus, RedisBus, type Bus } from '../events/bus.js';
import type { Logger } from '../logger.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from '../rate-limit.js';
import { ConnectionRegistry } from '../realtime/connections.js';
import { AuthService } from './auth.js';
import { PresenceService } from './presence.js';
import { UserService } from './users.js';

export interface Services {
  config: Config;
  database: Database;
  logger: Logger;
  bus: Bus;
  limiter: RateLimiter;
  hasher: PasswordHasher;
  tokens: TokenService;
  connections: ConnectionRegistry;
  presence: PresenceService;
  auth: AuthService;
  users: UserService;
  close(): Promise<void>;
}

export function createServices(opts: { config: Config; database: Database; logger: Logger }): Services {
  const { config, database, logger } = opts;
  const db = database.db;
  const redisBus = config.redisUrl ? new RedisBus(config.redisUrl, logger) : null;
  const bus: Bus = redisBus ?? new LocalBus();
  const limiter: RateLimiter = redisBus ? new RedisRateLimiter(redisBus.commands) : new MemoryRateLimiter();
  const hasher = new PasswordHasher();
  const tokens = new TokenService(config.jwtSecret);
  const connections = new ConnectionRegistry({ db, bus, logger });
  const presence = new PresenceService(db);
  connections.onPresence(presence);
  const auth = new AuthService({
    db,
    hasher,
    tokens,
    limiter,
    bcryptCost: config.bcryptCost,
    onSessionsRevoked: (ids) => connections.revoke(ids),
  });
  const users = new UserService({ db, presence });

  return {
    config,
    database,
    logger,
    bus,
    limiter,
    hasher,
    tokens,
    connections,
    presence,
    auth,
    users,
    async close() {
      connections.close();
      if (limiter instanceof MemoryRateLimiter) limiter.close();
      await hasher.close();
      await bus.close();
    },
  };
}
