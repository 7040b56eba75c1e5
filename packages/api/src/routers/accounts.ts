import {
  changePasswordInput,
  deleteAccountInput,
  byIdInput,
  passkeyLoginInput,
  passkeyRegisterInput,
  requestPasswordResetInput,
  resetPasswordInput,
  totpDisableInput,
  totpEnableInput,
  verifyEmailInput,
} from '@parley/validators';
import { REFRESH_TOKEN_TTL_SECONDS } from '../auth/tokens.js';
import { ACCESS_COOKIE, REFRESH_COOKIE, type Context } from '../context.js';
import type { IssuedSession } from '../services/auth.js';
import { authedProcedure, limited, publicProcedure, RATE_LIMITS, router } from '../trpc.js';

/** As auth.logout clears them (the refresh cookie lives on /trpc). */
function clearCookies(ctx: Context) {
  ctx.cookies?.clear(ACCESS_COOKIE, '/');
  ctx.cookies?.clear(REFRESH_COOKIE, '/trpc');
}

/** As auth.login delivers a session: both cookies, and the AuthResult body. */
function deliver(ctx: Context, issued: IssuedSession) {
  ctx.cookies?.set(ACCESS_COOKIE, issued.accessToken, {
    maxAgeSeconds: ctx.services.tokens.accessTtlSeconds,
    path: '/',
  });
  ctx.cookies?.set(REFRESH_COOKIE, issued.refreshToken, { maxAgeSeconds: REFRESH_TOKEN_TTL_SECONDS, path: '/trpc' });
  return { user: issued.user, accessToken: issued.accessToken, accessTokenExpiresAt: issued.accessTokenExpiresAt };
}

const passkeysRouter = router({
  registerOptions: authedProcedure
    .use(limited('passkeyOptions', RATE_LIMITS.profile, 'user'))
    .mutation(({ ctx }) => ctx.services.passkeys.registerOptions(ctx.auth.userId)),
  register: authedProcedure
    .input(passkeyRegisterInput)
    .mutation(({ ctx, input }) => ctx.services.passkeys.register(ctx.auth.userId, input.name, input.response)),
  /** Discoverable sign-in: no email first. */
  loginOptions: publicProcedure
    .use(limited('login', RATE_LIMITS.login, 'ip'))
    .mutation(({ ctx }) => ctx.services.passkeys.loginOptions()),
  login: publicProcedure
    .use(limited('login', RATE_LIMITS.login, 'ip'))
    .input(passkeyLoginInput)
    .mutation(async ({ ctx, input }) => {
      const user = await ctx.services.passkeys.login(input.response);
      return deliver(ctx, await ctx.services.auth.signInAs(user, ctx.req.userAgent));
    }),
  list: authedProcedure.query(({ ctx }) => ctx.services.passkeys.list(ctx.auth.userId)),
  remove: authedProcedure.input(byIdInput).mutation(async ({ ctx, input }) => {
    await ctx.services.passkeys.remove(ctx.auth.userId, input.id);
    return { ok: true as const };
  }),
});

const totpRouter = router({
  setup: authedProcedure
    .use(limited('totpSetup', RATE_LIMITS.profile, 'user'))
    .mutation(({ ctx }) => ctx.services.totp.setup(ctx.auth.userId)),
  enable: authedProcedure
    .input(totpEnableInput)
    .mutation(({ ctx, input }) => ctx.services.totp.enable(ctx.auth.userId, input.code)),
  disable: authedProcedure.input(totpDisableInput).mutation(async ({ ctx, input }) => {
    await ctx.services.totp.disable(ctx.auth.userId, input.password, input.code);
    return { ok: true as const };
  }),
});

/** The account procedures of the `auth` namespace (API.md "Accounts"), spread into the auth router. */
export const accountProcedures = {
  totp: totpRouter,
  passkeys: passkeysRouter,

  verifyEmail: publicProcedure
    .use(limited('verifyEmail', RATE_LIMITS.mailLink, 'ip'))
    .input(verifyEmailInput)
    .mutation(({ ctx, input }) => ctx.services.accounts.verifyEmail(input.token)),

  resendVerification: authedProcedure.mutation(async ({ ctx }) => {
    await ctx.services.accounts.resendVerification(ctx.auth.userId);
    return { ok: true as const };
  }),

  requestPasswordReset: publicProcedure.input(requestPasswordResetInput).mutation(async ({ ctx, input }) => {
    await ctx.services.accounts.requestPasswordReset(input.email, ctx.req.ip);
    return { ok: true as const };
  }),

  resetPassword: publicProcedure
    .use(limited('resetPassword', RATE_LIMITS.mailLink, 'ip'))
    .input(resetPasswordInput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.accounts.resetPassword(input.token, input.password);
      return { ok: true as const };
    }),

  changePassword: authedProcedure.input(changePasswordInput).mutation(async ({ ctx, input }) => {
    await ctx.services.accounts.changePassword(
      ctx.auth.userId,
      ctx.auth.sessionId,
      input.currentPassword,
      input.newPassword,
    );
    return { ok: true as const };
  }),

  deleteAccount: authedProcedure.input(deleteAccountInput).mutation(async ({ ctx, input }) => {
    await ctx.services.accounts.deleteAccount(ctx.auth.userId, input.password, input.code);
    clearCookies(ctx);
    return { ok: true as const };
  }),
};
