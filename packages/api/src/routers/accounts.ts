import {
  changePasswordInput,
  deleteAccountInput,
  requestPasswordResetInput,
  resetPasswordInput,
  totpDisableInput,
  totpEnableInput,
  verifyEmailInput,
} from '@parley/validators';
import { ACCESS_COOKIE, REFRESH_COOKIE, type Context } from '../context.js';
import { authedProcedure, limited, publicProcedure, RATE_LIMITS, router } from '../trpc.js';

/** As auth.logout clears them (the refresh cookie lives on /trpc). */
function clearCookies(ctx: Context) {
  ctx.cookies?.clear(ACCESS_COOKIE, '/');
  ctx.cookies?.clear(REFRESH_COOKIE, '/trpc');
}

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
    await ctx.services.accounts.changePassword(ctx.auth.userId, ctx.auth.sessionId, input.currentPassword, input.newPassword);
    return { ok: true as const };
  }),

  deleteAccount: authedProcedure.input(deleteAccountInput).mutation(async ({ ctx, input }) => {
    await ctx.services.accounts.deleteAccount(ctx.auth.userId, input.password, input.code);
    clearCookies(ctx);
    return { ok: true as const };
  }),
};
