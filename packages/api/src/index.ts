export { appRouter, type AppRouter, type RouterInputs, type RouterOutputs } from './root.js';
export { createServices, type Services } from './services/index.js';
export { ACCESS_COOKIE, REFRESH_COOKIE, type Context, type CookieJar, type RequestInfo } from './context.js';
export { createLogger, type Logger } from './logger.js';
export {
  CLOSE_GOING_AWAY,
  CLOSE_SESSION_REVOKED,
  CLOSE_TOKEN_EXPIRED,
  type LiveConnection,
} from './realtime/connections.js';
export type { AccessClaims } from './auth/tokens.js';
export { createCallerFactory, limited, RATE_LIMITS, RetryAfter } from './trpc.js';
