import { byIdInput, loginInput, registerInput } from '@parley/validators';
import { ACCESS_COOKIE, REFRESH_COOKIE, type Context } from '../context.js';
import { REFRESH_TOKEN_TTL_SECONDS } from '../auth/tokens.js';
import type { IssuedSession } from '../services/auth.js';
import { accountProcedures } from './accounts.js';
import { authedProcedure, limited, publicProcedure, RATE_LIMITS, router } from '../trpc.js';

// The refresh cookie only travels to the API, never to the web app's pages.
const REFRESH_PATH = '/trpc';

/** Sets both cookies and answers with the body every client can use (AuthResult). */
function deliver(ctx: Context, issued: IssuedSession) {
  ctx.cookies?.set(ACCESS_COOKIE, issued.accessToken, {
    maxAgeSeconds: ctx.services.tokens.accessTtlSeconds,
    path: '/',
  });
  ctx.cookies?.set(REFRESH_COOKIE, issued.refreshToken, {
    maxAgeSeconds: REFRESH_TOKEN_TTL_SECONDS,
    path: REFRESH_PATH,
  });
  return { user: issued.user, accessToken: issued.accessToken, accessTokenExpiresAt: issued.accessTokenExpiresAt };
}

function clearCookies(ctx: Context) {
  ctx.cookies?.clear(ACCESS_COOKIE, '/');
  ctx.cookies?.clear(REFRESH_COOKIE, REFRESH_PATH);
}

export const authRouter = router({
  register: publicProcedure
    .use(limited('register', RATE_LIMITS.register, 'ip'))
    .input(registerInput)
    .mutation(async ({ ctx, input }) => deliver(ctx, await ctx.services.auth.register(input, ctx.req.userAgent))),

  login: publicProcedure
    .use(limited('login', RATE_LIMITS.login, 'ip'))
    .input(loginInput)
    .mutation(async ({ ctx, input }) =>
      deliver(
        ctx,
        await ctx.services.auth.login(input, ctx.req.ip, ctx.req.userAgent, ctx.cookies?.get(REFRESH_COOKIE)),
      ),
    ),

  refresh: publicProcedure.use(limited('refresh', RATE_LIMITS.refresh, 'ip')).mutation(async ({ ctx }) => {
    try {
      return deliver(ctx, await ctx.services.auth.refresh(ctx.cookies?.get(REFRESH_COOKIE)));
    } catch (err) {
      clearCookies(ctx);
      throw err;
    }
  }),

  /**
   * Like refresh, for a page that does not know whether it is signed in: no refresh cookie, or one
   * that no longer works, answers null (and clears the cookies) instead of UNAUTHORIZED, so a
   * signed-out first load has no error in the browser's console.
   */
  resume: publicProcedure.use(limited('refresh', RATE_LIMITS.refresh, 'ip')).mutation(async ({ ctx }) => {
    const token = ctx.cookies?.get(REFRESH_COOKIE);
    if (!token) return null;
    try {
      return deliver(ctx, await ctx.services.auth.refresh(token));
    } catch (err) {
      // By code, not class: the refresh's "session ended" may become a domain error mapped later.
      if ((err as { code?: unknown }).code !== 'UNAUTHORIZED') throw err;
      clearCookies(ctx);
      return null;
    }
  }),

  logout: authedProcedure.mutation(async ({ ctx }) => {
    await ctx.services.auth.logout(ctx.auth.sessionId);
    clearCookies(ctx);
    return { ok: true as const };
  }),

  revokeSession: authedProcedure.input(byIdInput).mutation(async ({ ctx, input }) => {
    await ctx.services.auth.revokeSession(ctx.auth.userId, input.id);
    if (input.id === ctx.auth.sessionId) clearCookies(ctx);
    return { ok: true as const };
  }),

  logoutAll: authedProcedure.mutation(async ({ ctx }) => {
    await ctx.services.auth.logoutAll(ctx.auth.userId);
    clearCookies(ctx);
    return { ok: true as const };
  }),

  me: authedProcedure.query(({ ctx }) => ctx.services.auth.me(ctx.auth.userId)),

  sessions: authedProcedure.query(({ ctx }) => ctx.services.auth.sessions(ctx.auth.userId, ctx.auth.sessionId)),

  ...accountProcedures,
});
