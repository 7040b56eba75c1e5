import { initTRPC, TRPCError } from '@trpc/server';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import type { ErrorData } from '@parley/protocol';
import type { Context, SocketState } from './context.js';
import { DomainError, PayloadTooLarge, RateLimited, Unauthorized } from './errors.js';
import { through } from './events/through.js';
import type { RateWindow } from './rate-limit.js';

type Issue = { path: PropertyKey[]; message: string };
const hasIssues = (e: unknown): e is { issues: Issue[] } =>
  typeof e === 'object' && e !== null && Array.isArray((e as { issues?: unknown }).issues);

/** zod's issues, flattened the way clients show them beside form fields. */
function flattenIssues(issues: Issue[]) {
  const fieldErrors: Record<string, string[]> = {};
  const formErrors: string[] = [];
  for (const issue of issues) {
    const key = issue.path[0];
    if (key === undefined) formErrors.push(issue.message);
    else {
      const list = fieldErrors[String(key)] ?? [];
      list.push(issue.message);
      fieldErrors[String(key)] = list;
    }
  }
  return { formErrors, fieldErrors, issues: issues.map((i) => ({ path: i.path.map(String), message: i.message })) };
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces, whatever NODE_ENV says.
  isDev: false,
  // No subscriptions over HTTP (SSE): a stream there would escape the WebSocket rules (session
  // revocation, token expiry, socket and subscription caps). See `socketOnly` below.
  sse: { enabled: false },
  errorFormatter({ shape, error }) {
    const zodError = error.code === 'BAD_REQUEST' && hasIssues(error.cause) ? flattenIssues(error.cause.issues) : null;
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    const domain = error.cause instanceof DomainError ? error.cause : null;
    return {
      ...shape,
      message: internal ? 'Something went wrong on our side. Please try again.' : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        zodError,
        retryAfterMs: domain instanceof RateLimited ? domain.retryAfterMs : null,
        // e.g. mfaRequired: the password was right but the second factor is missing or wrong.
        ...domain?.details,
      } satisfies ErrorData,
    };
  },
});

/** A domain error as the tRPC error that carries it (its cause, which the formatter reads). */
export function toTRPCError(error: DomainError) {
  return new TRPCError({ code: error.code, message: error.message, cause: error });
}

/** A TOO_MANY_REQUESTS raised outside a procedure (transport limits), shaped like a domain one. */
export function tooManyRequests(retryAfterMs: number, message = 'Too many attempts. Please wait and try again.') {
  return toTRPCError(new RateLimited(retryAfterMs, message));
}

/** A domain error thrown by a subscription's generator after it started, as the tRPC error. */
const mapDomainError = (err: unknown) => (err instanceof DomainError ? toTRPCError(err) : err);

/**
 * The one place domain errors (errors.ts) become tRPC errors: thrown by a resolver or an inner
 * middleware (tRPC hands them here as an INTERNAL_SERVER_ERROR's cause), or, through
 * `mapDomainError` in `holdingSlot`, by a subscription's generator after it started.
 */
const domainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DomainError) throw toTRPCError(result.error.cause);
  return result;
});

/**
 * The largest input one procedure call may carry (its JSON, in UTF-8 bytes). The biggest inputs the
 * validators accept fit: a 4,000-character message (at most 16 KB), a group of 255 ids (~10 KB), an
 * SDP of up to 100,000 characters (real ones are tens of KB). Checked per call, so one oversized
 * call in an HTTP batch or a WebSocket frame fails alone. The transports' hard caps (1 MiB) sit above.
 */
export const MAX_INPUT_BYTES = 128 * 1024;

/**
 * Calls in one HTTP batch and in one WebSocket frame. One call's answer can be megabytes (a page
 * of long messages); without a cap an 11 KB batch asked for 51 MB. The SDK batches at most
 * MAX_HTTP_BATCH calls; tRPC's WebSocket client sends what one tick queued, so a frame may carry more.
 */
export const MAX_HTTP_BATCH = 10;
export const MAX_FRAME_CALLS = 50;

export function payloadTooLarge() {
  return toTRPCError(
    new PayloadTooLarge(`This request is too large (at most ${MAX_INPUT_BYTES / 1024} KiB per call).`),
  );
}

/** The error body a procedure would answer, for errors raised before tRPC runs (e.g. an HTTP body over the hard cap). */
export function errorShape(error: TRPCError, path: string | undefined) {
  return getErrorShape({ config: t._config, error, type: 'unknown', path, input: undefined, ctx: undefined });
}

/** The input's JSON in UTF-8 bytes is at most MAX_INPUT_BYTES. */
async function checkInputSize(getRawInput: () => Promise<unknown>) {
  const raw = await getRawInput();
  let bytes = 0;
  try {
    bytes = raw === undefined ? 0 : Buffer.byteLength(JSON.stringify(raw) ?? '');
  } catch {
    // Not JSON (only possible in-process, e.g. a BigInt through createCaller): the input parser refuses it.
  }
  if (bytes > MAX_INPUT_BYTES) throw payloadTooLarge();
}

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

/**
 * Subscriptions run only on a WebSocket, where the connection registry closes them on revocation
 * and at token expiry and the caps count them. Over any other transport (HTTP/SSE, a caller) they
 * are refused before the resolver runs. The server also answers 405 before tRPC for HTTP.
 */
export const subscriptionOverHttp = () =>
  new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: 'Subscriptions are served over the WebSocket only.' });

/**
 * The rules every call passes, in this order, as one middleware (each tRPC middleware level
 * copies the call's options and context again; these run on every send):
 * - subscriptions only on a WebSocket (subscriptionOverHttp);
 * - the input's size (MAX_INPUT_BYTES);
 * - a subscription takes one of the socket's MAX_SUBSCRIPTIONS_PER_SOCKET slots (each holds a
 *   queue and bus listeners), freed when its generator ends, however it ends;
 * - a query or mutation runs in its caller's share of the database pool (`FairShare`,
 *   services.fairShare), and inside it, backpressure: on a WebSocket whose send buffer is over
 *   its limit it waits, just before it runs (so a call queued earlier is held too), until the
 *   client has read it down (the server also stops reading that socket's frames and closes it if
 *   the buffer stays full; apps/server/src/backpressure.ts). A client that does not read cannot
 *   make the server hold the answers of calls it keeps sending.
 */
const callRules = t.middleware(async ({ ctx, type, getRawInput, next }) => {
  const socket = ctx.socket;
  if (type === 'subscription' && !socket) throw subscriptionOverHttp();
  await checkInputSize(getRawInput);
  if (type === 'subscription' && socket)
    return holdingSlot(socket, ctx.services.config.maxSubscriptionsPerSocket, next);
  const ran = await ctx.services.fairShare.run(
    ctx.auth ? `u:${ctx.auth.userId}` : `ip:${ctx.req.ip}`,
    async () => {
      if (socket?.writable) await socket.writable();
      return next();
    },
    !socket,
  );
  if (!ran) throw tooManyRequests(1000, 'Too many requests at once. Please wait and try again.');
  return ran.value;
});

/**
 * A subscription in one of its socket's slots, freed when its stream ends however it ends. Apart
 * from `callRules` so that what an open stream keeps (the `end` closure's context) is the socket,
 * not the middleware chain `next` would hold.
 */
async function holdingSlot<R extends { ok: true; data: unknown } | { ok: false }>(
  socket: SocketState,
  max: number,
  next: () => Promise<R>,
): Promise<R> {
  if (socket.subscriptions >= max) {
    throw new TRPCError({
      code: 'TOO_MANY_REQUESTS',
      message: `Too many subscriptions on this connection (at most ${max}). End one first.`,
    });
  }
  socket.subscriptions++;
  let result: R;
  try {
    result = await next();
  } catch (err) {
    socket.subscriptions--;
    throw err;
  }
  if (!result.ok || !isAsyncIterable(result.data)) {
    socket.subscriptions--;
    return result;
  }
  const stream = through(result.data, { map: same, mapError: mapDomainError, end: () => socket.subscriptions-- });
  return { ...result, data: stream };
}

const same = <T>(item: T) => item;

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(domainErrors).use(callRules);

export const authedProcedure = publicProcedure.use(async ({ ctx, type, next }) => {
  if (!ctx.auth) throw new Unauthorized('Please sign in.');
  // Reads cost memory (answers up to MBs) and database time like writes do: one budget per user.
  if (type === 'query') await spendBudget(ctx, 'read', RATE_LIMITS.read, 'user');
  return next({ ctx: { ...ctx, auth: ctx.auth } });
});

/**
 * Rate limit by the signed-in user or by the client's IP: a GCRA budget per procedure, counted in
 * `services.limiter` (Redis when REDIS_URL is set, so every instance shares the count; memory
 * otherwise). Every limit is multiplied by RATE_LIMIT_SCALE. Counted before the input is parsed,
 * so hostile or malformed calls spend the budget too.
 */
export function limited(name: string, window: RateWindow, by: 'user' | 'ip') {
  return t.middleware(async ({ ctx, next }) => {
    await spendBudget(ctx, name, window, by);
    return next();
  });
}

async function spendBudget(ctx: Context, name: string, window: RateWindow, by: 'user' | 'ip') {
  const who = by === 'user' ? ctx.auth?.userId : ctx.req.ip;
  if (!who) return;
  const limit = Math.max(1, Math.floor(window.limit * ctx.services.config.rateLimitScale));
  const { retryAfterMs } = await ctx.services.limiter.hit(`rl:${name}:${by}:${who}`, {
    limit,
    windowMs: window.windowMs,
  });
  if (retryAfterMs !== null) throw tooManyRequests(retryAfterMs, 'Too many requests. Please wait and try again.');
}

/** The limits at RATE_LIMIT_SCALE=1 (docs/SECURITY.md explains them). */
export const RATE_LIMITS = {
  register: { limit: 20, windowMs: 60 * 60_000 },
  login: { limit: 30, windowMs: 10 * 60_000 },
  refresh: { limit: 60, windowMs: 10 * 60_000 },
  send: { limit: 30, windowMs: 10_000 },
  typing: { limit: 20, windowMs: 10_000 },
  /** Reactions and un-reactions: cheap, but each one reaches every member. */
  react: { limit: 60, windowMs: 10_000 },
  search: { limit: 60, windowMs: 60_000 },
  callStart: { limit: 10, windowMs: 60_000 },
  callSignal: { limit: 600, windowMs: 60_000 },
  /** Creating, joining, renaming and leaving conversations: each one writes and notifies every member. */
  conversationChange: { limit: 30, windowMs: 60_000 },
  profile: { limit: 10, windowMs: 60_000 },
  /** Following mailed links (verify, reset): a guessed token costs budget. */
  mailLink: { limit: 30, windowMs: 10 * 60_000 },
  /** Every query of a signed-in user (lists, byId, me, sessions, search, iceServers), one budget. */
  read: { limit: 600, windowMs: 60_000 },
  /** Upload slots: each may bring up to MAX_UPLOAD_BYTES. */
  upload: { limit: 60, windowMs: 60_000 },
} satisfies Record<string, RateWindow>;
