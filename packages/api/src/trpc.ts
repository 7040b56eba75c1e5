import { initTRPC, TRPCError } from '@trpc/server';
import type { Context } from './context.js';

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
