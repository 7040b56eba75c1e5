import { callHistoryInput, callIdInput, signalInput, startCallInput } from '@parley/validators';
import { authedProcedure, limited, RATE_LIMITS, router } from '../trpc.js';

export const callsRouter = router({
  iceServers: authedProcedure.query(({ ctx }) => ctx.services.calls.iceServers(ctx.auth.userId)),

  start: authedProcedure
    .use(limited('callStart', RATE_LIMITS.callStart, 'user'))
    .input(startCallInput)
    .mutation(({ ctx, input }) => ctx.services.calls.start(ctx.auth.userId, ctx.auth.sessionId, input)),

  accept: authedProcedure
    .input(callIdInput)
    .mutation(({ ctx, input }) => ctx.services.calls.accept(ctx.auth.userId, ctx.auth.sessionId, input.callId)),

  join: authedProcedure
    .use(limited('callStart', RATE_LIMITS.callStart, 'user'))
    .input(callIdInput)
    .mutation(({ ctx, input }) => ctx.services.calls.join(ctx.auth.userId, ctx.auth.sessionId, input.callId)),

  decline: authedProcedure
    .input(callIdInput)
    .mutation(({ ctx, input }) => ctx.services.calls.decline(ctx.auth.userId, input.callId)),

  hangup: authedProcedure
    .input(callIdInput)
    .mutation(({ ctx, input }) => ctx.services.calls.hangup(ctx.auth.userId, input.callId)),

  ringing: authedProcedure
    .use(limited('callSignal', RATE_LIMITS.callSignal, 'user'))
    .input(callIdInput)
    .mutation(({ ctx, input }) => ctx.services.calls.ringing(ctx.auth.userId, input.callId)),

  signal: authedProcedure
    .use(limited('callSignal', RATE_LIMITS.callSignal, 'user'))
    .input(signalInput)
    .mutation(({ ctx, input }) =>
      ctx.services.calls.signal(ctx.auth.userId, input.callId, input.signal, input.toUserId),
    ),

  history: authedProcedure
    .input(callHistoryInput)
    .query(({ ctx, input }) => ctx.services.calls.history(ctx.auth.userId, input)),

  onEvent: authedProcedure.subscription(({ ctx }) => ctx.services.calls.events(ctx.auth.userId, ctx.auth.sessionId)),
});
