import { authedProcedure, router } from '../trpc.js';

export const presenceRouter = router({
  onChange: authedProcedure.subscription(({ ctx, signal }) =>
    ctx.services.presenceFeed.changes(ctx.auth.userId, signal),
  ),
});
