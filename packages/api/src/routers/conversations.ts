import {
  addMembersInput,
  byIdInput,
  conversationIdInput,
  conversationListInput,
  createGroupInput,
  muteInput,
  openDirectInput,
  renameInput,
} from '@parley/validators';
import { MUTED_FOREVER } from '../presenters.js';
import { authedProcedure, limited, RATE_LIMITS, router } from '../trpc.js';

/** Every change to a conversation shares one budget per user. */
const changing = authedProcedure.use(limited('conversationChange', RATE_LIMITS.conversationChange, 'user'));

export const conversationsRouter = router({
  list: authedProcedure
    .input(conversationListInput)
    .query(({ ctx, input }) => ctx.services.conversations.list(ctx.auth.userId, input.limit, input.cursor)),

  byId: authedProcedure
    .input(byIdInput)
    .query(({ ctx, input }) => ctx.services.conversations.byId(ctx.auth.userId, input.id)),

  openDirect: changing
    .input(openDirectInput)
    .mutation(({ ctx, input }) => ctx.services.conversations.openDirect(ctx.auth.userId, input.userId)),

  createGroup: changing
    .input(createGroupInput)
    .mutation(({ ctx, input }) =>
      ctx.services.conversations.createGroup(ctx.auth.userId, input.title, input.memberIds),
    ),

  addMembers: changing
    .input(addMembersInput)
    .mutation(({ ctx, input }) =>
      ctx.services.conversations.addMembers(ctx.auth.userId, input.conversationId, input.userIds),
    ),

  rename: changing
    .input(renameInput)
    .mutation(({ ctx, input }) =>
      ctx.services.conversations.rename(ctx.auth.userId, input.conversationId, input.title),
    ),

  /** Only the caller's pushes change; `until: null` mutes until `unmute`. */
  mute: changing
    .input(muteInput)
    .mutation(({ ctx, input }) =>
      ctx.services.conversations.setMute(ctx.auth.userId, input.conversationId, input.until ?? MUTED_FOREVER),
    ),

  unmute: changing
    .input(conversationIdInput)
    .mutation(({ ctx, input }) => ctx.services.conversations.setMute(ctx.auth.userId, input.conversationId, null)),

  leave: changing
    .input(conversationIdInput)
    .mutation(({ ctx, input }) => ctx.services.conversations.leave(ctx.auth.userId, input.conversationId)),
});
