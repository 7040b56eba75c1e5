import type { Config } from '@parley/config';
import type { Database } from '@parley/db';
import { PasswordHasher } from '../auth/passwords.js';
import { TokenService } from '../auth/tokens.js';
import { LocalBus, RedisBus, type Bus, type RedisClient } from '../events/bus.js';
import type { Logger } from '../logger.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from '../rate-limit.js';
import { ConnectionRegistry } from '../realtime/connections.js';
import { EphemeralHub } from '../events/ephemeral.js';
import { EventLog } from '../events/event-log.js';
import { AuthService } from './auth.js';
import { FairShare } from '../fair-share.js';
import { MemoryKeyValue, RedisKeyValue, type KeyValue } from '../kv.js';
import { ConversationService } from './conversations.js';
import type { BlockChanged, Typing } from '@parley/protocol';
import { blockEnvelope, callEnvelope, typingEnvelope } from '../events/wire.js';
import { MessageService } from './messages.js';
import { MessageChangeService } from './message-changes.js';
import { MessageSearchService } from './message-search.js';
import { PresenceService, type Presence } from './presence.js';
import { RedisPresence } from './presence-redis.js';
import { PresenceFeed } from './presence-feed.js';
import { CallService, type CallHubEvent } from './calls.js';
import { UserService } from './users.js';
import { PushService } from './push.js';
import { RedisAttention } from './attention-redis.js';
import { MailService } from './mail.js';
import { AccountService } from './accounts.js';
import { TotpService } from './totp.js';
import { BlockService } from './blocks.js';
import { clearAvatar } from '@parley/db';
import { createFileStore } from '@parley/storage';
import { AttachmentService } from './attachments.js';
import { PasskeyService } from './passkeys.js';

export interface Services {
  config: Config;
  database: Database;
  logger: Logger;
  bus: Bus;
  limiter: RateLimiter;
  /** Each caller's share of the database pool (packages/api/src/fair-share.ts). */
  fairShare: FairShare;
  hasher: PasswordHasher;
  tokens: TokenService;
  connections: ConnectionRegistry;
  presence: Presence;
  presenceFeed: PresenceFeed;
  callEvents: EphemeralHub<CallHubEvent>;
  calls: CallService;
  auth: AuthService;
  users: UserService;
  events: EventLog;
  typing: EphemeralHub<Typing>;
  conversations: ConversationService;
  messages: MessageService;
  push: PushService;
  /** Edits, deletes and reactions. */
  messageChanges: MessageChangeService;
  messageSearch: MessageSearchService;
  mail: MailService;
  accounts: AccountService;
  totp: TotpService;
  blocks: BlockService;
  /** Uploads, downloads and deletion of files; `attachments.deleteFiles` is the one deletion. */
  attachments: AttachmentService;
  passkeys: PasskeyService;
  /** Starts the background readers (the event log); call once before serving. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createServices(opts: {
  config: Config;
  database: Database;
  logger: Logger;
  /** This database's event log id (`eventLogId`): every Redis channel and key lives under it. */
  logId: string;
  /** The connection presence writes through, instead of the bus's (a test cuts it to play a crashed instance). */
  presenceRedis?: RedisClient;
}): Services {
  const { config, database, logger } = opts;
  const db = database.db;
  const redisPrefix = `parley:${opts.logId}:`;
  const redisBus = config.redisUrl
    ? new RedisBus({ url: config.redisUrl, clusterNodes: config.redisClusterNodes }, logger, redisPrefix)
    : null;
  const bus: Bus = redisBus ?? new LocalBus();
  const limiter: RateLimiter = redisBus
    ? new RedisRateLimiter(redisBus.commands, `${redisPrefix}rl:`)
    : new MemoryRateLimiter();
  const kv: KeyValue = redisBus ? new RedisKeyValue(redisBus.commands, `${redisPrefix}kv:`) : new MemoryKeyValue();
  const hasher = new PasswordHasher();
  const tokens = new TokenService(config.jwtSecret, config.accessTokenTtlSeconds);
  const connections = new ConnectionRegistry({ db, bus, logger });
  // With Redis, a visible page on any instance holds pushes back; without it, this instance is all there is.
  const attention = redisBus
    ? new RedisAttention({
        redis: redisBus.commands,
        prefix: `${redisPrefix}attention:`,
        instanceId: config.instanceId,
        logger,
        here: connections,
      })
    : null;
  if (attention) connections.onAttentionChange = (userId, attending) => attention.changed(userId, attending);
  const push = new PushService({ db, config, logger, attention: attention ?? connections });
  // With Redis, online means a socket on any live instance; without it, on this one.
  const presence: Presence = redisBus
    ? new RedisPresence({
        db,
        redis: opts.presenceRedis ?? redisBus.commands,
        bus,
        logger,
        instanceId: config.instanceId,
        // One hash tag for every presence key: its Lua scripts touch several of them at once, so on
        // a cluster they must share a slot (docs/SCALING.md: presence is one shard's work).
        prefix: `${redisPrefix}presence:{${opts.logId}}:`,
        heartbeatMs: config.presence.heartbeatMs,
        deadAfterMs: config.presence.deadAfterMs,
      })
    : new PresenceService(db);
  connections.onPresence(presence);
  const mail = new MailService({ db, config, logger });
  const accounts = new AccountService({
    db,
    config,
    hasher,
    limiter,
    mail,
    onSessionsRevoked: (ids) => {
      connections.revoke(ids);
      void push.sessionsEnded(ids);
    },
  });
  const totp = new TotpService({ db, limiter, checkPassword: (id, pw) => accounts.checkPassword(id, pw) });
  const auth = new AuthService({
    db,
    hasher,
    tokens,
    limiter,
    kv,
    refreshGraceMs: config.refreshGraceMs,
    bcryptCost: config.bcryptCost,
    onSessionsRevoked: (ids) => {
      connections.revoke(ids);
      void push.sessionsEnded(ids);
    },
    onRegistered: (user) => accounts.sendVerification(user),
    secondFactor: (user, code) => totp.verify(user, code),
  });
  const users = new UserService({ db, presence, deleteFiles: (where) => attachments.deleteFiles(where) });
  const events = new EventLog({
    db,
    bus,
    logger,
    partitions: config.events.partitions,
    retentionMs: config.events.retentionMs,
    retentionIntervalMs: config.events.retentionIntervalMs,
  });
  const typing = new EphemeralHub<Typing>(bus, 'typing', typingEnvelope, logger);
  const conversations = new ConversationService({ db, events, presence });
  const blockNotices = new EphemeralHub<BlockChanged>(bus, 'blocks', blockEnvelope, logger);
  const presenceFeed = new PresenceFeed({ db, presence, events, blockNotices });
  const callEvents = new EphemeralHub<CallHubEvent>(bus, 'calls', callEnvelope, logger);
  const calls = new CallService({ db, config, hub: callEvents, events, presence, logger });
  const messages = new MessageService({ db, events, typing, conversations, logger });
  const blocks = new BlockService({ db, notices: blockNotices });
  const passkeys = new PasskeyService({ db, config });
  conversations.blockRules = blocks;
  messages.blockRules = blocks;
  calls.blockRules = blocks;
  users.blockRules = blocks;
  accounts.secondFactor = (user, code) => totp.verify(user, code);

  // Until the protocol's committed-event hook lands: pushes follow the two producers of news.
  messages.onStored = (message, recipients) => push.messageSent(message, recipients);
  calls.onRinging = (call, rung) => push.callIncoming(call, config.callRingTimeoutMs, rung);
  const messageChanges = new MessageChangeService({ db, events });
  const messageSearch = new MessageSearchService({ db });
  const attachments = new AttachmentService({ db, config, store: createFileStore(config.storage), logger });
  // A deleted message's files: rows in the delete's transaction, bytes after its commit.
  messageChanges.onDelete = async (tx, messageId) =>
    (await attachments.eraseInTransaction(tx, { messageIds: [messageId] })).deleteBytes;
  // A deleted account's uploads (its messages' files and its picture): the same deletion.
  accounts.erasers.push(async (tx, userId) => {
    await clearAvatar(tx, userId);
    return (await attachments.eraseInTransaction(tx, { uploaderId: userId })).deleteBytes;
  });

  return {
    config,
    database,
    logger,
    bus,
    limiter,
    // Half the pool per caller (at least 2): a bystander always finds a free connection.
    fairShare: new FairShare(Math.max(2, Math.ceil(config.databasePoolSize / 2)), 1000),
    hasher,
    tokens,
    connections,
    presence,
    presenceFeed,
    callEvents,
    calls,
    auth,
    users,
    events,
    typing,
    conversations,
    messages,
    push,
    messageChanges,
    messageSearch,
    mail,
    accounts,
    totp,
    blocks,
    attachments,
    passkeys,
    start: async () => {
      mail.warnIfDisabled();
      mail.start();
      await presence.start();
      await events.start();
      attachments.start();
    },
    async close() {
      events.stop();
      attachments.close();
      typing.close();
      calls.close();
      push.close();
      attention?.close();
      callEvents.close();
      blockNotices.close();
      connections.close();
      await mail.stop();
      mail.close();
      if (limiter instanceof MemoryRateLimiter) limiter.close();
      await hasher.close();
      await presence.close();
      await bus.close();
    },
  };
}
