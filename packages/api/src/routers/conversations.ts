import {
  addMembersInput,
  byIdInput,
  conversationIdInput,
  conversationListInput,
  createGroupInput,
  openDirectInput,
  renameInput,
} from '@parley/validators';
import { authedProcedure, router } from '../trpc.js';

export const conversationsRouter = router({
  list: authedProcedure
    .input(conversationListInput)
    .query(({ ctx, input }) => ctx.services.conversations.list(ctx.auth.userId, input.limit, input.cursor)),

  byId: authedProcedure
    .input(byIdInput)
    .query(({ ctx, input }) => ctx.services.conversations.byId(ctx.auth.userId, input.id)),

  openDirect: authedProcedure
    .input(openDirectInput)
    .mutation(({ ctx, input }) => ctx.services.conversations.openDirect(ctx.auth.userId, input.userId)),

  createGroup: authedProcedure
    .input(createGroupInput)
    .mutation(({ ctx, input }) => ctx.services.conversations.createGroup(ctx.auth.userId, input.title, input.memberIds)),

  addMembers: authedProcedure
    .input(addMembersInput)
    .mutation(({ ctx, input }) =>
      ctx.services.conversations.addMembers(ctx.auth.userId, input.conversationId, input.userIds),
    ),

  rename: authedProcedure
    .input(renameInput)
    .mutation(({ ctx, input }) => ctx.services.conversations.rename(ctx.auth.userId, input.conversationId, input.title)),

  leave: authedProcedure
    .input(conversationIdInput)
    .mutation(({ ctx, input }) => ctx.services.conversations.leave(ctx.auth.userId, input.conversationId)),
});
