import {
  conversationIdInput,
  listMessagesInput,
  markReadInput,
  onEventInput,
  sendMessageInput,
} from '@parley/validators';
import { authedProcedure, limited, RATE_LIMITS, router } from '../trpc.js';

export const messagesRouter = router({
  list: authedProcedure
    .input(listMessagesInput)
    .query(({ ctx, input }) => ctx.services.messages.list(ctx.auth.userId, input)),

  send: authedProcedure
    .use(limited('send', RATE_LIMITS.send, 'user'))
    .input(sendMessageInput)
    .mutation(({ ctx, input }) => ctx.services.messages.send(ctx.auth.userId, input)),

  markRead: authedProcedure
    .input(markReadInput)
    .mutation(({ ctx, input }) => ctx.services.messages.markRead(ctx.auth.userId, input.conversationId, input.seq)),

  typing: authedProcedure
    .use(limited('typing', RATE_LIMITS.typing, 'user'))
    .input(conversationIdInput)
    .mutation(({ ctx, input }) => ctx.services.messages.typing(ctx.auth.userId, input.conversationId)),

  onEvent: authedProcedure
    .input(onEventInput)
    .subscription(({ ctx, input, signal }) => ctx.services.messages.events(ctx.auth.userId, input?.lastEventId, signal)),
});
