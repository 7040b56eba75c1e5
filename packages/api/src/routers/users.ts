import { byIdInput, updateProfileInput, userSearchInput } from '@parley/validators';
import { authedProcedure, limited, RATE_LIMITS, router } from '../trpc.js';

export const usersRouter = router({
  search: authedProcedure
    .use(limited('search', RATE_LIMITS.search, 'user'))
    .input(userSearchInput)
    .query(({ ctx, input }) => ctx.services.users.search(ctx.auth.userId, input.query, input.limit)),

  byId: authedProcedure.input(byIdInput).query(({ ctx, input }) => ctx.services.users.byId(input.id)),

  updateProfile: authedProcedure
    .use(limited('profile', RATE_LIMITS.profile, 'user'))
    .input(updateProfileInput)
    .mutation(({ ctx, input }) => ctx.services.users.updateProfile(ctx.auth.userId, input)),
});
