import {
  changePasswordInput,
  requestPasswordResetInput,
  resetPasswordInput,
  verifyEmailInput,
} from '@parley/validators';
import { authedProcedure, limited, publicProcedure, RATE_LIMITS } from '../trpc.js';

/** The account procedures of the `auth` namespace (API.md "Accounts"), spread into the auth router. */
export const accountProcedures = {
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
};
