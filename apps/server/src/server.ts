import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import {
  ACCESS_COOKIE,
  appRouter,
  CLOSE_GOING_AWAY,
  createLogger,
  createServices,
  errorShape,
  MAX_FRAME_CALLS,
  MAX_HTTP_BATCH,
  tooManyRequests,
  payloadTooLarge,
  subscriptionOverHttp,
  RateLimited,
  type AppRouter,
  type Context,
  type CookieJar,
  type Logger,
  type RedisClient,
  type Services,
} from '@parley/api';
import type { Config } from '@parley/config';
import { eventLogId, openDatabase, type Database } from '@parley/db';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import { getWSConnectionHandler } from '@trpc/server/adapters/ws';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { type WebSocket, WebSocketServer } from 'ws';
import { devMailPage } from './dev-mail.js';
import { socketClientIp, trustedProxies } from './client-ip.js';
import { afterPreviousAnswer, coalesceWrites, SendBuffers } from './backpressure.js';
import { SocketDrain } from './drain.js';
import { pingDatabase, watchDatabase, watchRedis } from './health.js';
import { heartbeat } from './heartbeat.js';
import { registerFileRoutes } from './files.js';
import { createMetrics } from './metrics.js';

export const TRPC_PATH = '/trpc';
/**
 * Hard caps on an HTTP body and on a WebSocket frame. Each call's input is held to MAX_INPUT_BYTES
 * (128 KiB, packages/api/src/trpc.ts) and answered PAYLOAD_TOO_LARGE; these caps only bound what is
 * read at all: an HTTP body above it is answered 413 PAYLOAD_TOO_LARGE unread, a frame above it
 * closes the socket (1009).
 */
export const MAX_BODY_BYTES = 1024 * 1024;
/** A WebSocket that did not authenticate within WS_AUTH_TIMEOUT_MS. */
export const CLOSE_UNAUTHENTICATED = 4401;

function bearerIs(header: string | undefined, token: string) {
  const given = Buffer.from(header?.match(/^Bearer (.+)$/i)?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** Every subscription of the router, refused over HTTP. */
const SUBSCRIPTION_PATHS = new Set(
  Object.entries(appRouter._def.procedures as Record<string, { _def?: { type?: string } }>)
    .filter(([, p]) => p._def?.type === 'subscription')
    .map(([path]) => path),
);
/** How long a stopping instance waits for started queries and mutations to answer. */
const DRAIN_TIMEOUT_MS = 10_000;

export interface ParleyServer {
  url: string;
  services: Services;
  database: Database;
  logger: Logger;
  /** Stops taking sockets, tells clients to reconnect elsewhere, lets requests finish, exits cleanly. */
  close(): Promise<void>;
}

/** One line per request, at debug (Fastify's own are two per request, at info); a failed reply still logs as Fastify does. */
class QuietRequestLogs extends LogController {
  override incomingRequest() {}
  override requestCompleted(
    error: Error | null | undefined,
    req: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ) {
    if (error) return super.requestCompleted(error, req, reply, metadata);
    // The path only: a GET's query string carries the call's input.
    reply.log.debug(
      {
        method: req.method,
        path: req.url.split('?')[0],
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  }
}

function isAllowedOrigin(config: Config, origin: string | undefined) {
  return origin === undefined || config.allowedOrigins.includes(origin);
}

function defaultWebDist() {
  return fileURLToPath(new URL('../../web/dist', import.meta.url));
}

/**
 * At most MAX_FRAME_CALLS calls of one WebSocket frame run: the rest are answered
 * TOO_MANY_REQUESTS at once (tRPC's client sends what one tick queued as one frame, so a frame of
 * many calls is not always hostile; 2,000 of them is). Checked before tRPC parses the frame.
 */
function capFrameCalls(ws: WebSocket) {
  const emit = ws.emit.bind(ws);
  ws.emit = ((event: string | symbol, ...args: unknown[]) => {
    const data = args[0];
    if (event !== 'message' || !Buffer.isBuffer(data) || data.subarray(0, 16).toString().trimStart()[0] !== '[') {
      return emit(event, ...args);
    }
    let calls: unknown;
    try {
      calls = JSON.parse(data.toString('utf8'));
    } catch {
      return emit(event, ...args); // tRPC answers the parse error
    }
    if (!Array.isArray(calls) || calls.length <= MAX_FRAME_CALLS) return emit(event, ...args);
    for (const call of calls.slice(MAX_FRAME_CALLS)) {
      const c = call as { id?: unknown; params?: { path?: unknown } } | null;
      const path = typeof c?.params?.path === 'string' ? c.params.path : undefined;
      const error = tooManyRequests(1000, `Too many calls in one message (at most ${MAX_FRAME_CALLS}).`);
      ws.send(JSON.stringify({ id: c?.id ?? null, error: errorShape(error, path) }));
    }
    return emit(event, Buffer.from(JSON.stringify(calls.slice(0, MAX_FRAME_CALLS))), false);
  }) as typeof ws.emit;
}

async function waitForSockets(wss: WebSocketServer, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

export async function startServer(
  config: Config,
  opts: { logger?: Logger; database?: Database; presenceRedis?: RedisClient } = {},
): Promise<ParleyServer> {
  const logger =
    opts.logger ?? createLogger(config.logLevel, { instance: config.instanceId }, undefined, config.logFormat);
  const database =
    opts.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
    }));
  logger.info({ database: database.kind }, 'Database ready (migrations applied)');
  const services = createServices({
    config,
    database,
    logger,
    logId: await eventLogId(database.db),
    presenceRedis: opts.presenceRedis,
  });
  await services.start();
  const stopWatchingDatabase = watchDatabase(database, logger);
  const stopWatchingRedis = config.redisUrl ? watchRedis(services.bus, logger) : () => {};

  // Slow senders: the headers must arrive within 15 s and the whole request (body included) within
  // REQUEST_TIMEOUT_MS (5 min by default: a 25 MiB upload on a slow line), else 408 and close.
  // Node checks these every connectionsCheckingInterval, which only the constructor takes.
  const headersTimeout = Math.min(15_000, config.requestTimeoutMs);
  const app = Fastify({
    serverFactory: (handler) =>
      createHttpServer(
        {
          requestTimeout: config.requestTimeoutMs,
          headersTimeout,
          connectionsCheckingInterval: Math.min(1000, headersTimeout),
        },
        handler,
      ),
    requestTimeout: config.requestTimeoutMs,
    loggerInstance: logger,
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { maxParamLength: 5000 },
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // Behind the proxy the request id is nginx's, so one id follows a request through both logs.
    requestIdHeader: config.trustProxy.length > 0 ? 'x-request-id' : false,
    genReqId: () => crypto.randomUUID(),
    logController: new QuietRequestLogs(),
  });
  const sendBuffers = new SendBuffers((info) => logger.warn(info, 'Client stopped reading; connection closed'));
  sendBuffers.watchServer(app.server);
  await app.register(fastifyCookie);
  // Security headers on every response, and a CSP that allows only this origin's scripts, its
  // WebSocket, and the media streams calls need.
  const socketOrigins = config.allowedOrigins.map((o) => o.replace(/^http/, 'ws'));
  await app.register(fastifyHelmet, {
    hsts: config.isProduction,
    crossOriginEmbedderPolicy: false,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:', 'mediastream:'],
        connectSrc: ["'self'", ...socketOrigins],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });

  const secureCookies = config.nodeEnv === 'production';
  const cookieJar = (req: FastifyRequest, reply: FastifyReply): CookieJar => ({
    get: (name) => req.cookies[name],
    set: (name, value, o) =>
      void reply.setCookie(name, value, {
        httpOnly: true,
        secure: secureCookies,
        sameSite: 'lax',
        path: o.path,
        maxAge: o.maxAgeSeconds,
      }),
    clear: (name, path) =>
      void reply.clearCookie(name, { path, httpOnly: true, secure: secureCookies, sameSite: 'lax' }),
  });

  app.addHook('onRequest', async (req, reply) => {
    if (!(await afterPreviousAnswer(req.raw, reply.raw))) return reply.hijack();
  });

  // Browser requests from foreign origins are refused before they reach any procedure.
  app.addHook('onRequest', async (req, reply) => {
    if (!isAllowedOrigin(config, req.headers.origin)) {
      return reply.code(403).send({ error: 'Origin not allowed' });
    }
  });

  // A body over the hard cap never reaches tRPC: answer it in tRPC's error shape (one error per
  // call of a batch), so clients see PAYLOAD_TOO_LARGE like any other refusal.
  app.setErrorHandler(async (err: { code?: string; statusCode?: number }, req, reply) => {
    const url = new URL(req.url, 'http://localhost');
    if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE' || !url.pathname.startsWith(`${TRPC_PATH}/`)) throw err;
    const paths = decodeURIComponent(url.pathname.slice(TRPC_PATH.length + 1)).split(',');
    const error = (path: string) => ({ error: errorShape(payloadTooLarge(), path) });
    return reply
      .code(413)
      .header('connection', 'close')
      .send(url.searchParams.get('batch') === '1' ? paths.map(error) : error(paths[0]!));
  });

  // Subscriptions live on the WebSocket only (where revocation, expiry and the caps hold them):
  // an HTTP request naming one is answered 405 before tRPC opens any stream (SSE is also off in
  // packages/api/src/trpc.ts, and a subscription without a socket is refused there too).
  // A mutation that takes no input may come as a POST with no body (tRPC's httpLink sends it so,
  // with a JSON content type; curl -X POST without one): it reads as no input, not broken JSON.
  app.addHook('preHandler', async (req, reply) => {
    const url = new URL(req.url, 'http://localhost');
    if (!url.pathname.startsWith(`${TRPC_PATH}/`)) return;
    const paths = decodeURIComponent(url.pathname.slice(TRPC_PATH.length + 1)).split(',');
    if (paths.some((p) => SUBSCRIPTION_PATHS.has(p))) {
      const error = (path: string) => ({ error: errorShape(subscriptionOverHttp(), path) });
      return reply.code(405).send(url.searchParams.get('batch') === '1' ? paths.map(error) : error(paths[0]!));
    }
    if (req.method === 'POST' && (req.body === undefined || req.body === '')) {
      req.raw.headers['content-type'] = 'application/json';
      req.body = '{}';
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  if (!config.isProduction) app.get('/dev/mail', devMailPage(services.mail));
  app.get('/readyz', async (_req, reply) => {
    const down: string[] = [];
    if (!accepting) down.push('shutting down');
    await pingDatabase(database, 2000).catch(() => down.push('database'));
    if (config.redisUrl && !services.bus.isHealthy()) down.push('redis');
    if (down.length > 0) return reply.code(503).send({ error: `Unavailable: ${down.join(', ')}` });
    return { status: 'ready' };
  });

  await app.register(fastifyTRPCPlugin, {
    prefix: TRPC_PATH,
    trpcOptions: {
      router: appRouter,
      // One call's answer can be megabytes: a batch multiplies it (BAD_REQUEST above the cap).
      maxBatchSize: MAX_HTTP_BATCH,
      createContext: async ({ req, res }): Promise<Context> => {
        const bearer = req.headers.authorization?.match(/^Bearer (.+)$/i)?.[1];
        return {
          services,
          req: { ip: req.ip, userAgent: req.headers['user-agent'] ?? null },
          cookies: cookieJar(req, res),
          auth: await services.auth.authenticate(bearer ?? req.cookies[ACCESS_COOKIE]),
        };
      },
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          logger.error({ err: error.cause ?? error, path }, 'Procedure failed');
      },
      // A rate-limited answer says when to try again, in the standard header as well as in error.data.
      responseMeta: ({ errors }) => {
        const waits = errors.flatMap((e) => (e.cause instanceof RateLimited ? [e.cause.retryAfterMs] : []));
        return waits.length > 0
          ? { headers: { 'retry-after': String(Math.max(1, Math.ceil(Math.max(...waits) / 1000))) } }
          : {};
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  await registerFileRoutes(app, services);

  const webDist = config.webDistDir ?? defaultWebDist();
  // Source maps (the build makes them) hand out the client's source: never served in production.
  if (config.isProduction) {
    app.addHook('onRequest', async (req, reply) => {
      if (req.url.split('?')[0]!.endsWith('.map')) return reply.code(404).send({ error: 'Not found' });
    });
  }
  if (existsSync(webDist)) {
    await app.register(fastifyStatic, { root: webDist, wildcard: false });
    // The web app routes on the client: unknown paths get its page.
    app.setNotFoundHandler((req, reply) =>
      req.method === 'GET' && !req.url.startsWith(TRPC_PATH)
        ? reply.sendFile('index.html')
        : reply.code(404).send({ error: 'Not found' }),
    );
  }

  // tRPC over WebSocket on the same port and path.
  const proxies = trustedProxies(config.trustProxy);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  const handleConnection = getWSConnectionHandler<AppRouter>({
    wss,
    router: appRouter,
    // Off: heartbeat() below pings every socket from one timer. (The client's own PING still gets its PONG.)
    keepAlive: { enabled: false },
    createContext: async ({ req, res: ws, info }): Promise<Context> => {
      const fromParams = info.connectionParams?.token;
      const cookies = app.parseCookie(req.headers.cookie ?? '');
      let auth = await services.auth.authenticate(fromParams ?? cookies[ACCESS_COOKIE]);
      let setVisible: ((visible: boolean) => Promise<void>) | undefined;
      if (auth && ws.readyState === ws.OPEN) {
        const conn = {
          userId: auth.userId,
          sessionId: auth.sessionId,
          expiresAt: auth.expiresAt,
          close: (code: number, reason: string) => ws.close(code, reason),
        };
        const remove = services.connections.add(conn, config.maxSocketsPerUser);
        // Refused (too many sockets): it is closing; nothing it sent meanwhile runs as the user.
        if (remove) {
          clearTimeout(authTimers.get(ws));
          ws.once('close', remove);
          setVisible = (visible) => services.connections.setVisible(conn, visible);
        } else auth = null;
      }
      return {
        services,
        req: { ip: socketClientIp(req, proxies), userAgent: req.headers['user-agent'] ?? null },
        cookies: null,
        auth,
        socket: { subscriptions: 0, writable: writables.get(ws), ...(setVisible ? { setVisible } : {}) },
      };
    },
    onError: ({ error, path }) => {
      // ws closes a socket whose frame is over maxPayload (1009): the client's abuse, not our failure.
      if ((error.cause as { code?: string } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        logger.warn({ maxBytes: MAX_BODY_BYTES }, 'WebSocket frame over the hard cap; socket closed');
      } else if (error.code === 'INTERNAL_SERVER_ERROR')
        logger.error({ err: error.cause ?? error, path }, 'Procedure failed');
    },
  });
  const drain = new SocketDrain();
  const writables = new WeakMap<WebSocket, () => Promise<void>>();
  /** Each socket's sign-in deadline, cleared when it signs in. */
  const authTimers = new WeakMap<WebSocket, NodeJS.Timeout>();
  const stopHeartbeat = heartbeat(wss, config.wsPingIntervalMs);
  wss.on('connection', (ws, req) => {
    drain.attach(ws);
    // A socket that never signs in gets no data, but would hold memory: close it after a few
    // seconds. Cleared once it signs in, so a signed-in socket holds no timer of its own.
    const authTimer = setTimeout(() => ws.close(CLOSE_UNAUTHENTICATED, 'Not signed in'), config.wsAuthTimeoutMs);
    authTimers.set(ws, authTimer);
    ws.once('close', () => clearTimeout(authTimer));
    writables.set(ws, sendBuffers.watchSocket(ws));
    coalesceWrites(ws, req.socket);
    capFrameCalls(ws);
    handleConnection(ws, req);
  });

  const metrics = createMetrics({
    services,
    database,
    poolSize: config.databasePoolSize,
    redisConfigured: Boolean(config.redisUrl),
    sockets: () => wss.clients.size,
    inFlight: () => drain.inFlight,
  });
  app.get('/metrics', async (req, reply) => {
    // With METRICS_TOKEN set, only the monitoring system that holds it reads the instance's figures.
    if (config.metricsToken && !bearerIs(req.headers.authorization, config.metricsToken)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Metrics need a token' });
    }
    return reply.type(metrics.contentType).send(await metrics.render());
  });

  let accepting = true;
  const refuseUpgrade = (socket: Duplex, status: string) => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== TRPC_PATH) return refuseUpgrade(socket, '404 Not Found');
    if (!accepting) return refuseUpgrade(socket, '503 Service Unavailable');
    if (!isAllowedOrigin(config, req.headers.origin)) {
      logger.warn({ origin: req.headers.origin }, 'WebSocket upgrade from a foreign origin refused');
      return refuseUpgrade(socket, '403 Forbidden');
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', 'localhost');

  let closing: Promise<void> | null = null;
  return {
    url,
    services,
    database,
    logger,
    close() {
      closing ??= (async () => {
        // Redis connections close on the way out: that is no outage to report.
        stopWatchingRedis();
        stopHeartbeat();
        accepting = false;
        // Started queries and mutations answer first; new ones are no longer started.
        const drained = await drain.drain(DRAIN_TIMEOUT_MS);
        logger.info(
          { drained, inFlight: drain.inFlight, sockets: wss.clients.size },
          'Closing sockets: clients reconnect elsewhere',
        );
        // 1012 "service restart": every client (signed in or not) reconnects to another instance.
        for (const ws of wss.clients) ws.close(CLOSE_GOING_AWAY, 'Server restarting');
        await waitForSockets(wss, 2000);
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        sendBuffers.close();
        await app.close();
        stopWatchingDatabase();
        await services.close();
        if (!opts.database) await database.close();
      })();
      return closing;
    },
  };
}
