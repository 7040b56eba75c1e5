import { authedProcedure, router } from '../trpc.js';

export const presenceRouter = router({
  onChange: authedProcedure.subscription(({ ctx }) => ctx.services.presenceFeed.changes(ctx.auth.userId)),
});
