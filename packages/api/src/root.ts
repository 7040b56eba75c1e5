import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { attachmentsRouter } from './routers/attachments.js';
import { authRouter } from './routers/auth.js';
import { callsRouter } from './routers/calls.js';
import { conversationsRouter } from './routers/conversations.js';
import { messagesRouter } from './routers/messages.js';
import { notificationsRouter } from './routers/notifications.js';
import { presenceRouter } from './routers/presence.js';
import { usersRouter } from './routers/users.js';
import { router } from './trpc.js';

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  conversations: conversationsRouter,
  messages: messagesRouter,
  presence: presenceRouter,
  calls: callsRouter,
  notifications: notificationsRouter,
  attachments: attachmentsRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
