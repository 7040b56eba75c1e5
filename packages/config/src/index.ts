/**
 * The one place that reads `process.env`. Everything else receives a `Config`.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: z.string().url().optional(),
  /**
   * The seed nodes of a Redis Cluster (`host:port,host:port,...`); the cluster's credentials and
   * scheme (rediss: for TLS) come from REDIS_URL when it is set. Unset: REDIS_URL is one Redis.
   */
  REDIS_CLUSTER_NODES: list,
  DATA_DIR: z.string().default('.data'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  TURN_SECRET: z.string().min(16, 'TURN_SECRET must be at least 16 characters').optional(),
  TURN_URLS: list,
  STUN_URLS: list,
  TURN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  ALLOWED_ORIGINS: list,
  /** Addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed (rate limits by client IP). */
  TRUST_PROXY: list,
  CALL_RING_TIMEOUT_MS: z.coerce.number().int().min(100).default(45_000),
  /** How long a call participant may have no socket anywhere before their live calls end. */
  CALL_ABANDON_GRACE_MS: z.coerce.number().int().min(100).default(10_000),
  /** Partitions of the event log, set when the log is created (docs/EVENTS.md). */
  EVENT_PARTITIONS: z.coerce.number().int().min(1).max(256).default(16),
  /** Events older than this are deleted; a client resuming from before then is told to resync. */
  EVENT_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(30),
  /** How often each instance runs the retention sweep. */
  EVENT_RETENTION_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(600_000),
  /** How often each instance renews its presence heartbeat in Redis and sweeps dead instances. */
  PRESENCE_HEARTBEAT_MS: z.coerce.number().int().min(50).max(60_000).default(5_000),
  /** An instance without a heartbeat for this long is dead: its users go offline (unless online elsewhere). */
  PRESENCE_DEAD_AFTER_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  /** Access-token lifetime; 15 minutes unless a test needs to watch one expire. */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(2).max(3600).default(900),
  /** How long a just-rotated refresh token still answers with the same new pair (two tabs refreshing at once). */
  REFRESH_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
  /** bcrypt cost; 12 in production. Tests may lower it to create many users quickly. */
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  /** Multiplies every rate limit (not the login-failure limits); tests that create many users raise it. */
  RATE_LIMIT_SCALE: z.coerce.number().positive().max(1_000_000).default(1),
  /** Authenticated WebSockets one user may hold on one instance; the next is closed with 4029. */
  MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(1000).default(20),
  /** Concurrent subscriptions on one WebSocket; the next is answered TOO_MANY_REQUESTS. */
  MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(100).default(10),
  /** A request (headers and body) must arrive within this time, else 408 and the connection closes. */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(500).max(3_600_000).default(300_000),
  /** A WebSocket that has not authenticated within this time is closed (4401). */
  WS_AUTH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** Every socket is pinged this often; one that did not answer the last ping is dropped. */
  WS_PING_INTERVAL_MS: z.coerce.number().int().min(100).max(300_000).default(20_000),
  /** When set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (else 401). */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty`: one readable line per entry (the default in development); `json`: one JSON object per line (otherwise). */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  WEB_DIST_DIR: z.string().optional(),
  INSTANCE_ID: z.string().optional(),
  /** Web Push (VAPID, RFC 8292): the application server's P-256 key pair, base64url (web-push's format). */
  VAPID_PUBLIC_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{87}$/, 'VAPID_PUBLIC_KEY must be a base64url P-256 public key (87 characters)')
    .optional(),
  VAPID_PRIVATE_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'VAPID_PRIVATE_KEY must be a base64url P-256 private key (43 characters)')
    .optional(),
  /** Who push services contact about this sender: a mailto: or https: URL. */
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)\S+$/, 'VAPID_SUBJECT must be a mailto: or https: URL')
    .optional(),
  /** Host names (and their subdomains) push subscriptions may point at; the server POSTs to them. */
  PUSH_ENDPOINT_HOSTS: list,
  /** smtp://user:pass@host:587 or smtps://...; without it mail goes to the log (and /dev/mail outside production). */
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().default('Parley <no-reply@localhost>'),
  /** Where links in mails point; the first allowed origin when unset. */
  PUBLIC_URL: z.string().url().optional(),
  /** WebAuthn relying party: its id (a host name) and the origins passkeys may be used from. */
  WEBAUTHN_RP_ID: z.string().optional(),
  WEBAUTHN_RP_NAME: z.string().default('Parley'),
  WEBAUTHN_ORIGINS: list,
  /** Where uploaded files live: a folder under DATA_DIR (default) or an S3-compatible store. */
  STORAGE: z.enum(['disk', 's3']).default('disk'),
  S3_BUCKET: z.string().min(3).max(63).optional(),
  /** The store's URL for anything but AWS itself (MinIO, Garage, SeaweedFS, R2, ...). */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Path-style URLs (endpoint/bucket/key); on by default for self-hosted stores. */
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('true'),
  /** The largest upload accepted, in bytes (25 MiB). */
  MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(5 * 1024 ** 3)
    .default(25 * 1024 * 1024),
  /** An upload never sent in a message is deleted this long after it was created (12 h). */
  UPLOAD_ORPHAN_TTL_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(86_400_000)
    .default(12 * 3_600_000),
  /** How often the orphan sweeper runs (hourly); orphans are thus gone within TTL + this. */
  UPLOAD_SWEEP_MS: z.coerce.number().int().min(100).max(3_600_000).default(3_600_000),
});

export type Env = z.input<typeof envSchema>;

/** `host:port` or `[v6]:port` with a port of 1..65535, or null. */
function parseRedisNode(spec: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/[\]]+)):(\d{1,5})$/.exec(spec);
  const port = Number(m?.[3]);
  if (!m || !(port >= 1 && port <= 65535)) return null;
  return { host: (m[1] ?? m[2])!, port };
}

const formatRedisNode = (n: { host: string; port: number }) =>
  n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`;

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  isProduction: boolean;
  host: string;
  port: number;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** Set whenever Redis is used (with a cluster: its credentials and scheme, or its first node). */
  redisUrl: string | undefined;
  /** The seed nodes when Redis is a cluster; empty for one Redis. */
  redisClusterNodes: { host: string; port: number }[];
  dataDir: string;
  jwtSecret: string;
  turn: { secret: string; urls: string[]; stunUrls: string[]; ttlSeconds: number };
  allowedOrigins: string[];
  trustProxy: string[];
  callRingTimeoutMs: number;
  callAbandonGraceMs: number;
  presence: { heartbeatMs: number; deadAfterMs: number };
  events: { partitions: number; retentionMs: number; retentionIntervalMs: number };
  bcryptCost: number;
  accessTokenTtlSeconds: number;
  refreshGraceMs: number;
  rateLimitScale: number;
  maxSocketsPerUser: number;
  maxSubscriptionsPerSocket: number;
  wsAuthTimeoutMs: number;
  wsPingIntervalMs: number;
  requestTimeoutMs: number;
  metricsToken: string | undefined;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  logFormat: 'json' | 'pretty';
  webDistDir: string | undefined;
  instanceId: string;
  push: {
    vapidPublicKey: string;
    vapidPrivateKey: string;
    subject: string;
    /** Push endpoints must be https on these hosts or their subdomains (never an address we choose to reach). */
    endpointHosts: string[];
    /** Development and tests only: http on loopback too (a local mock push service). */
    allowLoopback: boolean;
  };
  mail: { smtpUrl: string | undefined; from: string; publicUrl: string };
  webauthn: { rpId: string; rpName: string; origins: string[] };
  storage:
    | { kind: 'disk'; dir: string }
    | {
        kind: 's3';
        bucket: string;
        endpoint: string | undefined;
        region: string;
        accessKeyId: string | undefined;
        secretAccessKey: string | undefined;
        forcePathStyle: boolean;
      };
  uploads: { maxBytes: number; orphanTtlMs: number; sweepMs: number };
}

/** The push services browsers subscribe to today (Chrome/Edge via FCM, Firefox, Safari, Windows). */
export const DEFAULT_PUSH_HOSTS = [
  'fcm.googleapis.com',
  'android.googleapis.com',
  'updates.push.services.mozilla.com',
  'push.services.mozilla.com',
  'push.apple.com',
  'notify.windows.com',
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type DevSecrets = { jwtSecret: string; turnSecret: string };

/** Development secrets are generated once and kept in DATA_DIR, never written in the code. */
function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, 'secrets.json');
  try {
    const parsed = z
      .object({ jwtSecret: z.string().min(32), turnSecret: z.string().min(16) })
      .parse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed;
  } catch {
    const secrets = {
      jwtSecret: randomBytes(48).toString('base64url'),
      turnSecret: randomBytes(32).toString('base64url'),
    };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    return secrets;
  }
}

type VapidKeys = { publicKey: string; privateKey: string };

/** A P-256 key pair in the form web-push uses: the uncompressed public point and the private scalar, base64url. */
export function generateVapidKeys(): VapidKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = publicKey.export({ format: 'jwk' });
  const priv = privateKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(pub.x!, 'base64url'), Buffer.from(pub.y!, 'base64url')]);
  return { publicKey: point.toString('base64url'), privateKey: priv.d! };
}

/** Development VAPID keys, made once and kept in DATA_DIR: a new pair would orphan every subscription. */
function loadOrCreateDevVapid(dataDir: string): VapidKeys {
  const file = join(dataDir, 'vapid.json');
  try {
    return z
      .object({ publicKey: z.string().length(87), privateKey: z.string().length(43) })
      .parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    const keys = generateVapidKeys();
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
    return keys;
  }
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = result.data;
  const isProduction = env.NODE_ENV === 'production';
  const dataDir = resolve(env.DATA_DIR);

  let jwtSecret = env.JWT_SECRET;
  let turnSecret = env.TURN_SECRET;
  if (isProduction) {
    const missing = [
      !jwtSecret && 'JWT_SECRET',
      !turnSecret && 'TURN_SECRET',
      env.ALLOWED_ORIGINS.length === 0 && 'ALLOWED_ORIGINS',
      env.BCRYPT_COST < 12 && 'BCRYPT_COST of at least 12',
      !env.VAPID_PUBLIC_KEY && 'VAPID_PUBLIC_KEY',
      !env.VAPID_PRIVATE_KEY && 'VAPID_PRIVATE_KEY',
      !env.VAPID_SUBJECT && 'VAPID_SUBJECT',
    ].filter((m): m is string => Boolean(m));
    if (missing.length > 0) {
      throw new ConfigError(
        `Refusing to start in production without: ${missing.join(', ')}. ` +
          'Set them in the environment (see .env.example).',
      );
    }
  } else if (!jwtSecret || !turnSecret) {
    const dev = loadOrCreateDevSecrets(dataDir);
    jwtSecret ??= dev.jwtSecret;
    turnSecret ??= dev.turnSecret;
  }

  if (Boolean(env.VAPID_PUBLIC_KEY) !== Boolean(env.VAPID_PRIVATE_KEY)) {
    throw new ConfigError('Invalid configuration:\n  VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set together');
  }
  const vapid =
    env.VAPID_PUBLIC_KEY && env.VAPID_PRIVATE_KEY
      ? { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY }
      : loadOrCreateDevVapid(dataDir);

  if (env.PRESENCE_DEAD_AFTER_MS < 2 * env.PRESENCE_HEARTBEAT_MS) {
    throw new ConfigError(
      'Invalid configuration:\n  PRESENCE_DEAD_AFTER_MS must be at least twice PRESENCE_HEARTBEAT_MS',
    );
  }

  const redisClusterNodes = env.REDIS_CLUSTER_NODES.map(parseRedisNode);
  const bad = env.REDIS_CLUSTER_NODES.filter((_, i) => !redisClusterNodes[i]);
  if (bad.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  REDIS_CLUSTER_NODES: not host:port: ${bad.join(', ')}`);
  }
  const redisUrl =
    env.REDIS_URL ?? (redisClusterNodes[0] ? `redis://${formatRedisNode(redisClusterNodes[0])}` : undefined);

  if (env.STORAGE === 's3' && !env.S3_BUCKET) {
    throw new ConfigError('Invalid configuration:\n  S3_BUCKET is required when STORAGE=s3');
  }

  const port = env.PORT;
  const allowedOrigins =
    env.ALLOWED_ORIGINS.length > 0
      ? env.ALLOWED_ORIGINS
      : [`http://localhost:${port}`, `http://127.0.0.1:${port}`, 'http://localhost:5173', 'http://127.0.0.1:5173'];

  return Object.freeze({
    nodeEnv: env.NODE_ENV,
    isProduction,
    host: env.HOST,
    port,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    redisUrl,
    redisClusterNodes: redisClusterNodes.filter((n) => n !== null),
    dataDir,
    jwtSecret: jwtSecret!,
    turn: {
      secret: turnSecret!,
      urls: env.TURN_URLS,
      stunUrls: env.STUN_URLS,
      ttlSeconds: env.TURN_TTL_SECONDS,
    },
    allowedOrigins,
    trustProxy: env.TRUST_PROXY,
    callRingTimeoutMs: env.CALL_RING_TIMEOUT_MS,
    callAbandonGraceMs: env.CALL_ABANDON_GRACE_MS,
    presence: { heartbeatMs: env.PRESENCE_HEARTBEAT_MS, deadAfterMs: env.PRESENCE_DEAD_AFTER_MS },
    events: {
      partitions: env.EVENT_PARTITIONS,
      retentionMs: Math.round(env.EVENT_RETENTION_DAYS * 86_400_000),
      retentionIntervalMs: env.EVENT_RETENTION_INTERVAL_MS,
    },
    bcryptCost: env.BCRYPT_COST,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    refreshGraceMs: env.REFRESH_GRACE_MS,
    rateLimitScale: env.RATE_LIMIT_SCALE,
    maxSocketsPerUser: env.MAX_SOCKETS_PER_USER,
    maxSubscriptionsPerSocket: env.MAX_SUBSCRIPTIONS_PER_SOCKET,
    wsAuthTimeoutMs: env.WS_AUTH_TIMEOUT_MS,
    wsPingIntervalMs: env.WS_PING_INTERVAL_MS,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    metricsToken: env.METRICS_TOKEN,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT ?? (env.NODE_ENV === 'development' ? 'pretty' : 'json'),
    webDistDir: env.WEB_DIST_DIR,
    instanceId: env.INSTANCE_ID ?? `${process.pid}-${randomBytes(3).toString('hex')}`,
    push: {
      vapidPublicKey: vapid.publicKey,
      vapidPrivateKey: vapid.privateKey,
      subject: env.VAPID_SUBJECT ?? 'mailto:parley@localhost',
      endpointHosts: env.PUSH_ENDPOINT_HOSTS.length > 0 ? env.PUSH_ENDPOINT_HOSTS : DEFAULT_PUSH_HOSTS,
      allowLoopback: !isProduction,
    },
    mail: {
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM,
      publicUrl: (env.PUBLIC_URL ?? allowedOrigins[0]!).replace(/\/$/, ''),
    },
    webauthn: {
      rpId: env.WEBAUTHN_RP_ID ?? new URL(env.PUBLIC_URL ?? allowedOrigins[0]!).hostname,
      rpName: env.WEBAUTHN_RP_NAME,
      origins: env.WEBAUTHN_ORIGINS.length > 0 ? env.WEBAUTHN_ORIGINS : allowedOrigins,
    },
    storage:
      env.STORAGE === 's3'
        ? {
            kind: 's3' as const,
            bucket: env.S3_BUCKET!,
            endpoint: env.S3_ENDPOINT,
            region: env.S3_REGION,
            accessKeyId: env.S3_ACCESS_KEY_ID,
            secretAccessKey: env.S3_SECRET_ACCESS_KEY,
            forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
          }
        : { kind: 'disk' as const, dir: join(dataDir, 'files') },
    uploads: { maxBytes: env.MAX_UPLOAD_BYTES, orphanTtlMs: env.UPLOAD_ORPHAN_TTL_MS, sweepMs: env.UPLOAD_SWEEP_MS },
  });
}
