import { byIdInput, updateProfileInput, userIdInput, userSearchInput } from '@parley/validators';
import { authedProcedure, limited, RATE_LIMITS, router } from '../trpc.js';

export const usersRouter = router({
  search: authedProcedure
    .use(limited('search', RATE_LIMITS.search, 'user'))
    .input(userSearchInput)
    .query(({ ctx, input }) => ctx.services.users.search(ctx.auth.userId, input.query, input.limit)),

  byId: authedProcedure.input(byIdInput).query(({ ctx, input }) => ctx.services.users.byId(input.id, ctx.auth.userId)),

  updateProfile: authedProcedure
    .use(limited('profile', RATE_LIMITS.profile, 'user'))
    .input(updateProfileInput)
    .mutation(({ ctx, input }) => ctx.services.users.updateProfile(ctx.auth.userId, input)),

  block: authedProcedure
    .use(limited('block', RATE_LIMITS.profile, 'user'))
    .input(userIdInput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.blocks.block(ctx.auth.userId, input.userId);
      return { ok: true as const };
    }),

  unblock: authedProcedure
    .use(limited('block', RATE_LIMITS.profile, 'user'))
    .input(userIdInput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.blocks.unblock(ctx.auth.userId, input.userId);
      return { ok: true as const };
    }),

  /** The people the caller blocked (settings; the chat hides their group messages). */
  blocked: authedProcedure.query(({ ctx }) => ctx.services.blocks.list(ctx.auth.userId)),
});
