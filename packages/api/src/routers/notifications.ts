import {
  notificationSettingsInput,
  pushSubscribeInput,
  pushUnsubscribeInput,
  visibilityInput,
} from '@parley/validators';
import { TRPCError } from '@trpc/server';
import { authedProcedure, limited, publicProcedure, router } from '../trpc.js';

/** Subscribing writes a row and makes the server POST to the endpoint later: a modest budget. */
const PUSH_CHANGES = { limit: 30, windowMs: 60_000 };
/** A tab switching back and forth; each report is one in-memory update. */
const VISIBILITY = { limit: 120, windowMs: 60_000 };

export const notificationsRouter = router({
  vapidPublicKey: publicProcedure.query(({ ctx }) => ({ publicKey: ctx.services.push.publicKey })),

  subscribe: authedProcedure
    .use(limited('pushSubscribe', PUSH_CHANGES, 'user'))
    .input(pushSubscribeInput)
    .mutation(({ ctx, input }) => ctx.services.push.subscribe(ctx.auth.userId, ctx.auth.sessionId, input)),

  unsubscribe: authedProcedure
    .use(limited('pushSubscribe', PUSH_CHANGES, 'user'))
    .input(pushUnsubscribeInput)
    .mutation(({ ctx, input }) => ctx.services.push.unsubscribe(ctx.auth.userId, input.endpoint)),

  settings: authedProcedure.query(({ ctx }) => ctx.services.push.settings(ctx.auth.userId)),

  updateSettings: authedProcedure
    .use(limited('notificationSettings', { limit: 30, windowMs: 60_000 }, 'user'))
    .input(notificationSettingsInput)
    .mutation(({ ctx, input }) => ctx.services.push.updateSettings(ctx.auth.userId, input)),

  /**
   * The page behind this WebSocket is visible or hidden: while any of a user's pages is visible,
   * their devices get no pushes (the open tab tells them). Per socket, so WebSocket only.
   */
  setVisibility: authedProcedure
    .use(limited('visibility', VISIBILITY, 'user'))
    .input(visibilityInput)
    .mutation(async ({ ctx, input }) => {
      if (!ctx.socket?.setVisible) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'Visibility is reported over the WebSocket.' });
      }
      await ctx.socket.setVisible(input.visible);
      return { ok: true as const };
    }),
});
