import { initTRPC, TRPCError } from '@trpc/server';
import type { Context } from './context.js';
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
    else (fieldErrors[String(key)] ??= []).push(issue.message);
  }
  return { formErrors, fieldErrors, issues: issues.map((i) => ({ path: i.path.map(String), message: i.message })) };
}

const t = initTRPC.context<Context>().create({
  // Never send stack traces, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const zodError = error.code === 'BAD_REQUEST' && hasIssues(error.cause) ? flattenIssues(error.cause.issues) : null;
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    return {
      ...shape,
      message: internal ? 'Something went wrong on our side. Please try again.' : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        zodError,
        retryAfterMs: error.cause instanceof RetryAfter ? error.cause.retryAfterMs : null,
      },
    };
  },
});

/** Carried as a TOO_MANY_REQUESTS error's cause, so clients know when to try again. */
export class RetryAfter extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`Retry after ${retryAfterMs} ms`);
  }
}

export function tooManyRequests(retryAfterMs: number, message = 'Too many attempts. Please wait and try again.') {
  return new TRPCError({ code: 'TOO_MANY_REQUESTS', message, cause: new RetryAfter(retryAfterMs) });
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

export const authedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.auth) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Please sign in.' });
  return next({ ctx: { ...ctx, auth: ctx.auth } });
});

/**
 * Rate limit by the signed-in user or by the client's IP: a fixed window per procedure, counted in
 * `services.limiter` (Redis when REDIS_URL is set, so every instance shares the count; memory
 * otherwise). Every limit is multiplied by RATE_LIMIT_SCALE. Counted before the input is parsed,
 * so hostile or malformed calls spend the budget too.
 */
export function limited(name: string, window: RateWindow, by: 'user' | 'ip') {
  return t.middleware(async ({ ctx, next }) => {
    const who = by === 'user' ? ctx.auth?.userId : ctx.req.ip;
    if (who) {
      const limit = Math.max(1, Math.floor(window.limit * ctx.services.config.rateLimitScale));
      const { retryAfterMs } = await ctx.services.limiter.hit(`rl:${name}:${by}:${who}`, {
        limit,
        windowMs: window.windowMs,
      });
      if (retryAfterMs !== null) throw tooManyRequests(retryAfterMs, 'Too many requests. Please wait and try again.');
    }
    return next();
  });
}

/** The limits at RATE_LIMIT_SCALE=1 (docs/SECURITY.md explains them). */
export const RATE_LIMITS = {
  register: { limit: 20, windowMs: 60 * 60_000 },
  login: { limit: 30, windowMs: 10 * 60_000 },
  refresh: { limit: 60, windowMs: 10 * 60_000 },
  send: { limit: 30, windowMs: 10_000 },
  typing: { limit: 20, windowMs: 10_000 },
  search: { limit: 60, windowMs: 60_000 },
  callStart: { limit: 10, windowMs: 60_000 },
  callSignal: { limit: 600, windowMs: 60_000 },
} satisfies Record<string, RateWindow>;
