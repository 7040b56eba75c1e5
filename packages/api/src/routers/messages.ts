import {
  conversationIdInput,
  editMessageInput,
  listMessagesInput,
  markReadInput,
  messageIdInput,
  onEventInput,
  reactInput,
  searchMessagesInput,
  sendMessageInput,
} from '@parley/validators';
import { tracked } from '@trpc/server';
import { through } from '../events/through.js';
import type { StreamItem } from '../services/messages.js';
import { authedProcedure, limited, RATE_LIMITS, router } from '../trpc.js';

/** Logged events travel `tracked` (their id is the resume cursor); typing does not. */
const delivering = (item: StreamItem) => (item.id === null ? item.event : tracked(item.id, item.event));

export const messagesRouter = router({
  list: authedProcedure
    .input(listMessagesInput)
    .query(({ ctx, input }) => ctx.services.messages.list(ctx.auth.userId, input)),

  send: authedProcedure
    .use(limited('send', RATE_LIMITS.send, 'user'))
    .input(sendMessageInput)
    .mutation(({ ctx, input }) => ctx.services.messages.send(ctx.auth.userId, input)),

  edit: authedProcedure
    .use(limited('send', RATE_LIMITS.send, 'user'))
    .input(editMessageInput)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.edit(ctx.auth.userId, input.messageId, input.body)),

  delete: authedProcedure
    .use(limited('send', RATE_LIMITS.send, 'user'))
    .input(messageIdInput)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.delete(ctx.auth.userId, input.messageId)),

  react: authedProcedure
    .use(limited('react', RATE_LIMITS.react, 'user'))
    .input(reactInput)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.react(ctx.auth.userId, input.messageId, input.emoji)),

  unreact: authedProcedure
    .use(limited('react', RATE_LIMITS.react, 'user'))
    .input(reactInput)
    .mutation(({ ctx, input }) => ctx.services.messageChanges.unreact(ctx.auth.userId, input.messageId, input.emoji)),

  search: authedProcedure
    .use(limited('search', RATE_LIMITS.search, 'user'))
    .input(searchMessagesInput)
    .query(({ ctx, input }) => ctx.services.messageSearch.search(ctx.auth.userId, input)),

  markRead: authedProcedure
    .input(markReadInput)
    .mutation(({ ctx, input }) => ctx.services.messages.markRead(ctx.auth.userId, input.conversationId, input.seq)),

  typing: authedProcedure
    .use(limited('typing', RATE_LIMITS.typing, 'user'))
    .input(conversationIdInput)
    .mutation(({ ctx, input }) => ctx.services.messages.typing(ctx.auth.userId, input.conversationId)),

  onEvent: authedProcedure
    .input(onEventInput)
    .subscription(({ ctx, input }) =>
      through(ctx.services.messages.events(ctx.auth.userId, input?.lastEventId), { map: delivering }),
    ),
});
